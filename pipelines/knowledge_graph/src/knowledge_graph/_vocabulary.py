"""Word lists behind the sample data generator (kept apart so the generator stays readable)."""

# ruff: noqa: SIM905 - space-separated word lists read better than 1,000 quoted words

ADJECTIVES = (
    "Silent Broken Golden Hidden Last Dark Bright Wild Lost Endless Frozen Burning Crimson "
    "Distant Hollow Secret Savage Quiet Restless Wicked Fallen Iron Silver Scarlet Velvet "
    "Electric Midnight Northern Southern Eastern Western Forgotten Sacred Bitter Sweet Lonely "
    "Perfect Strange Final Little Great Black White Blue Red Green Empty Open Shattered Deep "
    "Hungry Gentle Brave Crooked Sleeping Falling Rising Burning Drowning Dancing Running "
    "Painted Stolen Borrowed Invisible Impossible Curious Furious Glass Paper Stone Wooden "
    "Neon Marble Copper Crystal Ancient Modern Lucky Cursed Twisted Wandering Haunted"
).split()
NOUNS = (
    "Night City River Garden Road Heart Storm Kingdom Shadow Mirror Island Machine Promise "
    "Letter Dream Hunter Orchard Harbor Bridge Valley Empire Forest Window Winter Summer "
    "Autumn Spring Voyage Witness Stranger Soldier Daughter Brother Sister Mother Father "
    "Kitchen Circus Lighthouse Station Frontier Desert Ocean Mountain Castle Tower Temple "
    "Carnival Engine Compass Lantern Signal Echo Horizon Harvest Crown Sword Arrow Feather "
    "Wolf Fox Raven Tiger Dragon Horse Whale Sparrow Falcon Serpent Spider Lion Bear Hound "
    "Diary Secret Ritual Verdict Bargain Ransom Treasure Legend Prophecy Gambit Heist "
    "Cartel Syndicate Detective Doctor Teacher Pilot Sailor Thief Queen King Prince Bride "
    "Widow Orphan Ghost Angel Devil Saint Sinner Outlaw Sheriff Ranger Pirate Spy Agent "
    "Requiem Symphony Ballad Sonata Anthem Melody Rhythm Whisper Silence Thunder Lightning "
    "Fire Ice Rain Snow Wind Dust Ash Smoke Salt Honey Wine Bread Blood Bones Stars Moon Sun"
).split()
PLACES = (
    "Paris Berlin Tokyo Lagos Lisbon Havana Cairo Oslo Vienna Prague Rome Madrid Dublin "
    "Istanbul Mumbai Seoul Sydney Chicago Memphis Brooklyn Harlem Montana Texas Alaska "
    "Siberia Patagonia Sahara Tuscany Provence Bavaria Normandy Andalusia Manhattan "
    "Marseille Naples Krakow Budapest Zurich Geneva Athens Sparta Troy Babylon Atlantis "
    "Casablanca Tangier Bombay Shanghai Kowloon Macau Bangkok Saigon Hanoi Manila"
).split()
COMMON_TITLES = (
    "Home",
    "Love",
    "Alone",
    "Crash",
    "Lost",
    "Heat",
    "Gravity",
    "Paradise",
    "Legacy",
    "Fury",
    "Trust",
    "Taken",
    "Drive",
    "Family",
    "Freedom",
    "Hunted",
    "Escape",
    "Survivor",
    "Homecoming",
    "The Gift",
)
SUBTITLES = (
    "The Beginning",
    "The Last Stand",
    "A New Dawn",
    "Reckoning",
    "The Return",
    "Origins",
    "Redemption",
    "Revelations",
    "The Final Chapter",
    "Into the Dark",
    "Legacy of Fire",
    "The Awakening",
)
FIRST_NAMES = (
    "James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Nancy Matthew Lisa "
    "Anthony Betty Mark Sandra Steven Ashley Paul Kimberly Andrew Emily Joshua Donna Kenneth "
    "Michelle Kevin Carol Brian Amanda George Melissa Timothy Deborah Ronald Stephanie "
    "José Zoë Björn Søren Chloé Renée François Jürgen Ángel Inês Agnès Héctor Mónica Günter "
    "Ludovic Małgorzata Łukasz Sergei Aleksandr Dmitri Yuri Natalia Olga Tatiana Mikhail "
    "Hiroshi Yuki Kenji Akira Mei Wei Jun Min Priya Arjun Ravi Ananya Chidi Amara Kwame Ngozi "
    "Lars Ingrid Astrid Sven Freya Mateo Lucía Valentina Santiago Camila Matteo Giulia Luca "
    "Sofia Élodie Noémie Thérèse Chiara Dorothée Jörg Mäja Åsa Øystein Zdeněk Tomáš"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
    "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott "
    "Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter "
    "Müller Núñez Gonçalves Dvořák Søndergaard Björk Lefèvre Šimek Łowicki Kowalczyk Nowak "
    "Schröder Weiß Fernández Ibáñez Peña Côté Bélanger Gauthier Moreau Dubois Rousseau "
    "Tchaikovsky Dostoevsky Gorbachev Kuznetsov Smirnov Ivanov Popov Sokolov Volkov Petrov "
    "Tanaka Suzuki Takahashi Watanabe Yamamoto Nakamura Kim Park Choi Chen Wang Zhang Liu "
    "Okafor Adeyemi Mensah Okonkwo Haddad Nasser Khalil Rahman Singh Patel Sharma Gupta "
    "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno Gallo "
    "Andersson Johansson Karlsson Nilsson Eriksson Larsen Hansen Jensen Nielsen Berg Lindqvist"
).split()
# Alternative romanisations a source may use (transliteration noise).
TRANSLITERATIONS = {
    "Sergei": "Sergey",
    "Aleksandr": "Alexander",
    "Dmitri": "Dmitry",
    "Yuri": "Iouri",
    "Mikhail": "Michail",
    "Tatiana": "Tatyana",
    "Natalia": "Natalya",
    "Tchaikovsky": "Chaikovsky",
    "Dostoevsky": "Dostoyevsky",
    "Gorbachev": "Gorbachov",
    "Kuznetsov": "Kouznetsov",
    "Ivanov": "Iwanow",
    "Popov": "Popow",
    "Müller": "Mueller",
    "Schröder": "Schroeder",
    "Weiß": "Weiss",
    "Jürgen": "Juergen",
    "Günter": "Guenter",
    "Jörg": "Joerg",
}
# Country -> (language, words the "original title" in that language is built from).
COUNTRIES = {
    "US": ("en", ()),
    "GB": ("en", ()),
    "CA": ("en", ()),
    "AU": ("en", ()),
    "FR": (
        "fr",
        "Nuit Cité Rivière Jardin Route Cœur Orage Royaume Ombre Miroir Île Promesse Lettre "
        "Rêve Été Hiver Forêt Fenêtre Étranger Sœur Frère Mère Père Château Mémoire Lumière "
        "Fête Bête Âme Désir".split(),
    ),
    "DE": (
        "de",
        "Nacht Stadt Fluss Garten Straße Herz Sturm Königreich Schatten Spiegel Insel "
        "Versprechen Brief Traum Jäger Brücke Tal Wald Fenster Fremde Schwester Bruder "
        "Mutter Vater Schloss Größe Märchen Glück Übermorgen".split(),
    ),
    "ES": (
        "es",
        "Noche Ciudad Río Jardín Camino Corazón Tormenta Reino Sombra Espejo Isla Promesa "
        "Carta Sueño Cazador Puente Valle Bosque Ventana Extraño Hermana Hermano Madre "
        "Padre Castillo Señor Niño Canción Pasión".split(),
    ),
    "IT": (
        "it",
        "Notte Città Fiume Giardino Strada Cuore Tempesta Regno Ombra Specchio Isola "
        "Promessa Lettera Sogno Cacciatore Ponte Valle Foresta Finestra Straniero Sorella "
        "Fratello Madre Padre Castello Perché Libertà Verità".split(),
    ),
    "SE": (
        "sv",
        "Natt Stad Flod Trädgård Väg Hjärta Storm Kungarike Skugga Spegel Ö Löfte Brev "
        "Dröm Jägare Bro Dal Skog Fönster Främling Syster Bror Mor Far Slott Sjö Höst".split(),
    ),
    "RU": (
        "ru",
        "Noch Gorod Reka Sad Doroga Serdtse Burya Tsarstvo Ten Zerkalo Ostrov Obeshchanie "
        "Pismo Son Okhotnik Most Dolina Les Okno Neznakomets Sestra Brat Mat Otets Zamok".split(),
    ),
    "JP": (
        "ja",
        "Yoru Machi Kawa Niwa Michi Kokoro Arashi Okoku Kage Kagami Shima Yakusoku Tegami "
        "Yume Kariudo Hashi Tani Mori Mado Ikyo Ane Ani Haha Chichi Shiro Tōkyō Ōsaka".split(),
    ),
    "KR": (
        "ko",
        "Bam Dosi Gang Jeongwon Gil Maeum Pokpung Wangguk Geurimja Geoul Seom Yaksok "
        "Pyeonji Kkum Sanyangkkun Dari Gyegok Sup Changmun Nageune".split(),
    ),
}
COUNTRY_WEIGHTS = {
    "US": 40,
    "GB": 12,
    "CA": 4,
    "AU": 3,
    "FR": 9,
    "DE": 7,
    "ES": 6,
    "IT": 6,
    "SE": 3,
    "RU": 4,
    "JP": 4,
    "KR": 2,
}
