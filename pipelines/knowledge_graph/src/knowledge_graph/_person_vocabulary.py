"""Word lists behind the person-records sample generator (`_person_sample.py`)."""

# ruff: noqa: SIM905 - space-separated word lists read better than hundreds of quoted words

GIVEN_NAMES = (
    "james mary john patricia robert jennifer michael linda william elizabeth david barbara "
    "richard susan joseph jessica thomas sarah charles karen daniel nancy matthew lisa "
    "anthony betty mark sandra steven ashley paul kimberly andrew emily joshua donna kenneth "
    "michelle kevin carol brian amanda george melissa timothy deborah ronald stephanie "
    "edward rebecca jason sharon jeffrey laura ryan cynthia jacob kathleen gary amy nicholas "
    "angela eric shirley jonathan anna stephen brenda larry pamela justin emma scott nicole "
    "brandon helen benjamin samantha samuel katherine gregory christine alexander debra "
    "frank rachel patrick carolyn raymond janet jack catherine dennis maria jerry heather "
    "tyler diane aaron ruth jose julie adam olivia nathan joyce henry virginia douglas "
    "victoria zachary kelly peter lauren kyle christina ethan joan walter evelyn noah judith "
    "jeremy megan christian andrea keith cheryl roger hannah terry jacqueline gerald martha "
    "harold gloria sean teresa austin ann carl sara arthur madison lawrence frances dylan "
    "kathryn jesse janice jordan jean bryan abigail billy alice joe judy bruce sophia gabriel "
    "grace logan denise albert amber willie doris alan marilyn juan danielle wayne beverly "
    "elijah isabella randy theresa roy diana vincent natalie ralph brittany eugene charlotte "
    "russell marie bobby kayla mason alexis philip lori liam chloe mitchell zoe lachlan "
    "harrison jasmine oscar ruby hamish matilda angus isla finn aria hugo ivy archie mia "
    "kai ella ming wei priya arjun ravi ananya chidi amara kwame ngozi hiroshi yuki kenji "
    "mei lars ingrid astrid sven mateo lucia valentina santiago matteo giulia luca sofia"
).split()

NICKNAMES = {
    "william": "bill",
    "robert": "bob",
    "elizabeth": "liz",
    "james": "jim",
    "michael": "mike",
    "katherine": "kate",
    "thomas": "tom",
    "richard": "rick",
    "margaret": "peggy",
    "jennifer": "jenny",
    "christopher": "chris",
    "daniel": "dan",
    "joseph": "joe",
    "anthony": "tony",
    "alexander": "alex",
    "samuel": "sam",
    "benjamin": "ben",
    "matthew": "matt",
    "nicholas": "nick",
    "patricia": "pat",
    "susan": "sue",
    "deborah": "debbie",
    "rebecca": "becky",
    "jessica": "jess",
    "edward": "ted",
    "timothy": "tim",
    "kimberly": "kim",
    "jonathan": "jon",
    "stephen": "steve",
    "victoria": "vicky",
}

SURNAMES = (
    "smith jones williams brown wilson taylor johnson white martin anderson thompson nguyen "
    "thomas walker harris lee ryan robinson kelly king davis wright evans roberts green hall "
    "wood jackson clarke patel khan lewis james phillips mitchell turner baker edwards young "
    "hill morris campbell scott murphy cooper ward stewart clark allen miller moore collins "
    "bell carter watson morgan cook bailey parker mcdonald davies chen wang zhang li liu "
    "singh kaur sharma kumar gupta tran le pham huynh hoang vo murray hughes shaw hunt "
    "russell kennedy graham kerr ross bennett richardson wallace gray adams hamilton walsh "
    "o'brien o'connor o'neill byrne doyle mccarthy gallagher quinn fitzgerald duncan mills "
    "marshall burns ellis palmer reid grant fraser henderson black simpson gibson webb "
    "dixon fleming pearce holmes barker lloyd harvey porter hudson warren foster "
    "matthews stevens jenkins knight butler barnes lawrence chapman owen price hart "
    "saunders may dunn lane cole armstrong wells rose fox sutherland hayes ferguson "
    "rossi russo ferrari esposito bianchi romano colombo ricci marino greco bruno gallo "
    "costa papadopoulos georgiou nikolaidis karagiannis dimitriou petrovic jovanovic "
    "kowalski nowak wisniewski muller schmidt schneider fischer weber meyer wagner becker "
    "garcia rodriguez martinez hernandez lopez gonzalez perez sanchez ramirez torres "
    "flores rivera gomez diaz cruz morales reyes gutierrez ortiz nunez castillo "
    "tanaka suzuki takahashi watanabe yamamoto nakamura kobayashi kim park choi "
    "okafor adeyemi mensah okonkwo haddad nasser khalil rahman hussain ahmed ali "
    "andersson johansson karlsson nilsson eriksson larsen hansen jensen nielsen berg "
    "abbott ashworth blackwood bradshaw cartwright chamberlain crawford donovan eastwood "
    "fairweather goodwin hargreaves hawthorne kingsley langford merriweather northcott "
    "pemberton radcliffe rutherford satterthwaite thornbury underwood wainwright whitfield"
).split()

STREET_NAMES = (
    "kameruka banksia wattle acacia bottlebrush jacaranda waratah grevillea boronia "
    "eucalypt mulga gidgee coolibah ironbark stringybark blackbutt tallowwood "
    "george elizabeth victoria albert william king queen prince princess market church "
    "station railway bridge mill park high hill river lake beach ocean bay harbour "
    "cliff ridge valley forest orchard vineyard meadow heath moor marsh brook creek "
    "wentworth macquarie bligh phillip hunter flinders bass cook banks sturt mitchell "
    "leichhardt kennedy forrest stuart eyre burke wills oxley hume hovell lawson "
    "blaxland parkes barton deakin reid fisher hughes bruce lyons menzies curtin chifley "
    "holt gorton mcmahon whitlam fraser hawke keating howard rudd gillard abbott "
    "darling murray murrumbidgee lachlan castlereagh namoi gwydir barwon macintyre "
    "condamine warrego paroo bulloo diamantina georgina thomson barcoo burdekin fitzroy "
    "mary brisbane logan nerang tweed clarence richmond hastings manning karuah"
).split()

STREET_TYPES = (
    "street road avenue place crescent close drive court lane parade circuit way terrace "
    "grove boulevard highway"
).split()

# Building, complex or care-home names that make up a second address line.
ADDRESS_LINE_2 = (
    "rosedale village|the oaks|wattle grove estate|kingsford court|harbour view|"
    "seaside gardens|the pines|parkview apartments|riverside lodge|sunset retirement village|"
    "banksia house|glenview|the meadows|hillcrest|bayside towers|woodlands|the elms|"
    "greenacres|lakeside|moreton court|city heights|the terraces|orchard place|st johns|"
    "millbrook|stonehaven|brightwater|fairway villas|coral cove|ocean breeze"
).split("|")

SUBURB_PREFIXES = (
    "ash bel black bright brook camp car clare cold cran elder fair glen green hazel high "
    "kings lake lang long marsh mill moss north oak pine red rose shel south spring stone "
    "sun west white wood bay river cliff dun kil strath"
).split()
SUBURB_SUFFIXES = (
    "bank bourne brook bury by dale field ford grove ham haven hill hurst leigh mead mont "
    "more port ridge side ton vale view ville wood worth"
).split()

# State -> (first postcode, last postcode): the postcode says the state.
STATES = {
    "nsw": (2000, 2999),
    "act": (2600, 2620),
    "vic": (3000, 3999),
    "qld": (4000, 4999),
    "sa": (5000, 5799),
    "wa": (6000, 6797),
    "tas": (7000, 7799),
    "nt": (800, 899),
}
STATE_WEIGHTS = {"nsw": 32, "act": 2, "vic": 26, "qld": 20, "sa": 7, "wa": 10, "tas": 2, "nt": 1}
