"""The words the description parser knows, and what each means as a filter.

Decisions on the borderline words (documented here because people disagree on them):

* Colours follow :mod:`vigil.vision.colour`: navy, denim, teal, turquoise and cyan are blue; maroon, burgundy,
  crimson and scarlet are red; beige, cream and lavender are white (too little chroma on camera); tan, khaki,
  olive and camel are brown; charcoal and silver are grey; gold and mustard are yellow; violet, lilac, mauve
  and magenta are purple. ``dark`` on its own means black, grey or blue and ``light`` means white, grey, pink
  or yellow (:data:`vigil.search.query.track_query.DARK`, :data:`~vigil.search.query.track_query.LIGHT`); before a
  colour ("dark blue") the shade is dropped.
* A van is detected as a car or a truck, so "van" asks for either; "vehicle" asks for car, van, bus, truck
  or motorcycle; a cyclist is the bicycle track.
* "bag" is read as handbag (the detector's class for shoulder and hand bags); rucksack is backpack.
* Gender words ("man", "woman", "lad", ...) are read as "person"; age and ethnicity words are not searched
  for at all: vigil does not infer gender, age or ethnicity.
"""

from __future__ import annotations

from vigil.domain.vocabulary import ColourName as C


def words(text: str) -> frozenset[str]:
    return frozenset(text.split())


COLOUR_WORDS: dict[str, tuple[C, ...]] = {
    **{c.value: (c,) for c in C},
    "gray": (C.GREY,),
    "navy": (C.BLUE,),
    "denim": (C.BLUE,),
    "teal": (C.BLUE,),
    "turquoise": (C.BLUE,),
    "cyan": (C.BLUE,),
    "maroon": (C.RED,),
    "burgundy": (C.RED,),
    "crimson": (C.RED,),
    "scarlet": (C.RED,),
    "beige": (C.WHITE,),
    "cream": (C.WHITE,),
    "lavender": (C.WHITE,),
    "tan": (C.BROWN,),
    "khaki": (C.BROWN,),
    "olive": (C.BROWN,),
    "camel": (C.BROWN,),
    "charcoal": (C.GREY,),
    "silver": (C.GREY,),
    "gold": (C.YELLOW,),
    "mustard": (C.YELLOW,),
    "violet": (C.PURPLE,),
    "lilac": (C.PURPLE,),
    "mauve": (C.PURPLE,),
    "magenta": (C.PURPLE,),
    "dark": (C.BLACK, C.GREY, C.BLUE),
    "light": (C.WHITE, C.GREY, C.PINK, C.YELLOW),
    "hi-vis": (C.YELLOW, C.ORANGE),
    "high-vis": (C.YELLOW, C.ORANGE),
}
SHADES = frozenset({"dark", "light", "bright", "pale", "deep", "navy"})
"""Words that only shade the colour after them ("dark blue" is blue)."""

UPPER_GARMENTS = words(
    "top tops jacket jackets hoodie hoody hoodies shirt shirts t-shirt tshirt tee coat coats jumper sweater "
    "sweatshirt fleece cardigan blouse vest gilet parka anorak raincoat puffer blazer jersey kit uniform mac"
)
LOWER_GARMENTS = words("trousers jeans skirt shorts leggings joggers pants bottoms chinos combats")
WHOLE_GARMENTS = words("dress overalls boiler-suit onesie suit tracksuit clothing clothes outfit")
UNANALYSED_GARMENTS = words(
    "shoes shoe trainers sneakers boots hat cap beanie hood helmet scarf gloves mask balaclava glasses"
)
"""Worn things whose colour analysis does not measure (the colour said with them is not searched for)."""
FEATURE_WORDS = words(
    "beard bearded moustache mustache bald hair hairstyle ponytail dreadlocks tattoo tattoos tattooed"
)
"""Features of a face or body: not analysed, and vigil does not look at faces."""

PERSON_WORDS = words(
    "person people persons someone somebody pedestrian pedestrians individual individuals suspect suspects "
    "figure offender victim witness"
)
GENDER_WORDS = words(
    "man men woman women male males female females boy boys girl girls lady ladies guy guys gentleman bloke "
    "lad lads chap fella gent lass he she his her him"
)
AGE_WORDS = words(
    "old older elderly young younger youth youths teen teens teenager teenagers teenage child children kid kids "
    "toddler baby infant adult adults pensioner juvenile aged middle-aged"
)
ETHNICITY_WORDS = words(
    "asian african caucasian ethnic ethnicity race racial skin complexion arab hispanic latino mixed-race "
    "bame ic1 ic2 ic3 ic4 ic5 ic6 gender sex age"
)
IDENTITY_WORDS = words(
    "face faces facial identify identity identities recognise recognize recognition named name biometric who-is"
)
PLATE_WORDS = frozenset({"plate", "plates", "registration", "reg", "vrm", "anpr", "number-plate"})

VEHICLE_WORDS: dict[str, tuple[str, ...]] = {
    "car": ("car",),
    "cars": ("car",),
    "taxi": ("car",),
    "saloon": ("car",),
    "hatchback": ("car",),
    "suv": ("car",),
    "van": ("car", "truck"),
    "vans": ("car", "truck"),
    "truck": ("truck",),
    "lorry": ("truck",),
    "hgv": ("truck",),
    "pickup": ("truck",),
    "bus": ("bus",),
    "coach": ("bus",),
    "motorbike": ("motorcycle",),
    "motorcycle": ("motorcycle",),
    "moped": ("motorcycle",),
    "scooter": ("motorcycle",),
    "bicycle": ("bicycle",),
    "bike": ("bicycle",),
    "cycle": ("bicycle",),
    "cyclist": ("person", "bicycle"),
    "cyclists": ("person", "bicycle"),
    "vehicle": ("car", "truck", "bus", "motorcycle"),
    "vehicles": ("car", "truck", "bus", "motorcycle"),
}
ANIMAL_WORDS: dict[str, str] = {
    "dog": "dog",
    "dogs": "dog",
    "cat": "cat",
    "horse": "horse",
    "bird": "bird",
    "sheep": "sheep",
    "cow": "cow",
}
CARRIED_WORDS: dict[str, str] = {
    "backpack": "backpack",
    "rucksack": "backpack",
    "knapsack": "backpack",
    "bag": "handbag",
    "handbag": "handbag",
    "purse": "handbag",
    "holdall": "handbag",
    "suitcase": "suitcase",
    "luggage": "suitcase",
    "case": "suitcase",
    "umbrella": "umbrella",
    "brolly": "umbrella",
}
HEADING_WORDS: dict[str, str] = {
    "north": "N",
    "northbound": "N",
    "northwards": "N",
    "north-east": "NE",
    "northeast": "NE",
    "east": "E",
    "eastbound": "E",
    "eastwards": "E",
    "south-east": "SE",
    "southeast": "SE",
    "south": "S",
    "southbound": "S",
    "southwards": "S",
    "south-west": "SW",
    "southwest": "SW",
    "west": "W",
    "westbound": "W",
    "westwards": "W",
    "north-west": "NW",
    "northwest": "NW",
    "left": "left",
    "right": "right",
    "up": "up",
    "down": "down",
    "stationary": "stationary",
    "parked": "stationary",
    "still": "stationary",
}
RUNNING_WORDS = words("running run ran runs jogging jog jogged sprinting sprinted fleeing fled racing fast")
SLOW_WORDS = frozenset({"slowly", "slow", "strolling", "ambling"})
LOITERING_WORDS = words("loitering loiter loitered lingering linger lingered hanging waiting")

RUNNING_HEIGHTS_PER_S = 1.5
"""A person moving faster than 1.5 body heights per second (about 2.5 m/s) is running, not walking."""
SLOW_HEIGHTS_PER_S = 0.5
LOITERING_S = 60.0
"""Loitering: in view for at least a minute."""

STOPWORDS = words(
    "a an the in on at of to from by for with and or who was were is are be been being wearing wore dressed "
    "clothes clothing carrying carried holding having has had seen spotted captured last recorded any all some "
    "one two this that these those walking walked walk going went moving moved travelling traveling heading "
    "headed direction towards toward into onto along near around about between cameras camera cctv footage "
    "video videos feed feeds show find me search for look looking possibly maybe perhaps probably then also "
    "just only very quite rather colour color coloured colored style type kind sort please like wearing "
    "while whilst over under out off across through past street road area"
)
"""Words that carry no filter of their own."""
MOVEMENT_WORDS = words(
    "walking walked walk going went moving moved travelling traveling heading headed running ran cycling "
    "driving drove riding rode to towards toward the"
)
"""Image directions (left, right, up, down) count only right after one of these ("walking left")."""
IMAGE_DIRECTION_WORDS = frozenset({"left", "right", "up", "down"})
