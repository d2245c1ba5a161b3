"""Word lists of the synthetic synopses and titles, one set per genre."""

from __future__ import annotations

__all__ = ["GENRES", "TITLE_WORDS"]

GENRES: dict[str, dict[str, list[str]]] = {
    "thriller": {
        "people": ["detective", "agent", "hacker", "witness", "informant", "sniper"],
        "verbs": ["hunts", "uncovers", "escapes", "betrays", "tracks", "decodes"],
        "things": ["conspiracy", "ransom", "cartel", "safehouse", "cipher", "heist"],
        "places": ["harbour", "embassy", "border", "subway", "vault", "rooftop"],
    },
    "comedy": {
        "people": ["chef", "roommate", "wedding planner", "substitute teacher", "uncle"],
        "verbs": ["bakes", "pranks", "improvises", "fakes", "juggles", "mixes up"],
        "things": ["cake", "talent show", "karaoke night", "family reunion", "road trip"],
        "places": ["diner", "campsite", "cruise ship", "bowling alley", "summer camp"],
    },
    "documentary": {
        "people": ["scientist", "farmer", "explorer", "historian", "ranger", "diver"],
        "verbs": ["studies", "documents", "measures", "restores", "surveys", "records"],
        "things": ["glacier", "coral reef", "migration", "harvest", "archive", "ecosystem"],
        "places": ["rainforest", "tundra", "delta", "highlands", "savanna", "archipelago"],
    },
    "animation": {
        "people": ["robot", "dragon", "fox", "princess", "wizard", "penguin"],
        "verbs": ["befriends", "rescues", "transforms", "flies over", "sings to", "builds"],
        "things": ["spell", "treasure map", "moon crystal", "rainbow", "kite", "snow globe"],
        "places": ["castle", "candy kingdom", "cloud city", "enchanted forest", "toy shop"],
    },
    "drama": {
        "people": ["widow", "surgeon", "violinist", "coach", "immigrant", "judge"],
        "verbs": ["forgives", "confronts", "remembers", "abandons", "inherits", "defends"],
        "things": ["letter", "farmhouse", "scholarship", "verdict", "secret", "promise"],
        "places": ["hospital", "courtroom", "village", "conservatory", "orchard", "tenement"],
    },
}

TITLE_WORDS = [
    "Midnight", "Harbour", "Silver", "Echo", "Paper", "Golden", "Last", "Wild", "Quiet",
    "Northern", "Broken", "Hidden", "Summer", "Iron", "Glass", "Velvet", "Distant", "Red",
    "Lantern", "River", "Garden", "Signal", "Crown", "Winter", "Shadow", "Orbit", "Storm",
]  # fmt: skip
