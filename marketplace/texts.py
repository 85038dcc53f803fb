"""Listing titles and descriptions, as sellers write them.

What the text may carry: brand, colour, the category's price-driving spec (storage, tier,
size...: only ever in the text), material, and a condition phrase. It never names the item
type, which only the photo shows. A useless text carries none of it.
"""
from __future__ import annotations

import numpy as np

CATEGORY_NOUNS = {
    "womens_clothing": "women's clothing", "mens_clothing": "men's clothing",
    "childrens_clothing": "kids' clothing", "womens_shoes": "women's shoes",
    "mens_shoes": "men's shoes", "childrens_shoes": "kids' shoes", "cosmetics": "cosmetics",
    "phones": "phone", "electronics_3c": "electronics", "household_appliances": "appliance",
    "sports_equipment": "sports gear", "baby_products": "baby gear", "accessories": "accessory",
}
CONDITION_PHRASES = {
    "new": ("brand new with tags", "never used, still sealed"),
    "like_new": ("used once or twice, like new", "barely used"),
    "good": ("used, in good condition", "normal signs of use"),
    "fair": ("visible wear but works fine", "well used"),
    "poor": ("heavily used, has flaws", "worn out, sold as is"),
}
SPEC_TEMPLATES = ("{name}: {value}", "{value} version", "{value}")
FILLERS = ("Smoke-free home.", "Pick-up or shipping.", "Bought last year.", "Price negotiable.",
           "Original packaging.", "Moving out, must go.", "Fast reply.", "Gift I never used.")
USELESS_TITLES = ("selling", "for sale", "cheap!", "good stuff", "clearing out", "take it")
USELESS_DESCRIPTIONS = ("DM me", "selling, DM me", "as pictured", "price negotiable, see photos",
                        "moving, must go", "first come first served", "")


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."  # not str.capitalize: it lowercases "XS", "GB"


def compose_text(
    rng: np.random.Generator,
    category: str,
    brand: str | None,
    colour: str,
    spec_name: str,
    spec_value: str,
    material: str | None,
    condition: str,
    useless: bool,
    shows: dict[str, bool],
) -> tuple[str, str]:
    """(title, description). `shows` says which facts this seller wrote down."""
    if useless:
        return (str(rng.choice(USELESS_TITLES)), str(rng.choice(USELESS_DESCRIPTIONS)))
    title_parts = []
    if brand and shows["brand"]:
        title_parts.append(brand)
    if shows["colour"]:
        title_parts.append(colour)
    title_parts.append(CATEGORY_NOUNS[category])
    spec_text = str(rng.choice(SPEC_TEMPLATES)).format(name=spec_name.replace("_", " "), value=spec_value)
    if shows["spec"] and rng.random() < 0.5:
        title_parts.append(spec_value)
    sentences = []
    if shows["spec"]:
        sentences.append(_sentence(spec_text))
    if material and shows["material"]:
        sentences.append(f"Made of {material}.")
    if shows["condition"]:
        sentences.append(_sentence(str(rng.choice(CONDITION_PHRASES[condition]))))
    sentences += list(rng.choice(FILLERS, size=rng.integers(0, 3), replace=False))
    rng.shuffle(sentences)
    return " ".join(title_parts), " ".join(sentences)
