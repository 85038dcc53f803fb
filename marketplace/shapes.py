"""Silhouettes of item types, in unit coordinates (0..1 of the object's box).

The item type is information only the photo carries (the text never names it), so each
type gets a distinct shape. A primitive is (kind, points, paint): kind is rect, ellipse,
poly, line, arc (upper half ellipse) or ring (ellipse outline); paint is "item" (the item's colour), "dark", "light" or "outline".
"""
from __future__ import annotations

Primitive = tuple[str, tuple[float, ...], str]

_SHIRT = (0.3, 0.15, 0.42, 0.1, 0.58, 0.1, 0.7, 0.15, 0.9, 0.35, 0.78, 0.45, 0.7, 0.38,
          0.7, 0.9, 0.3, 0.9, 0.3, 0.38, 0.22, 0.45, 0.1, 0.35)

SHAPES: dict[str, list[Primitive]] = {
    # clothes
    "tshirt": [("poly", _SHIRT, "item")],
    "dress": [("poly", (0.4, 0.1, 0.6, 0.1, 0.62, 0.35, 0.85, 0.9, 0.15, 0.9, 0.38, 0.35), "item")],
    "jacket": [("poly", (0.3, 0.12, 0.42, 0.08, 0.58, 0.08, 0.7, 0.12, 0.92, 0.8, 0.8, 0.84, 0.7, 0.45,
                         0.7, 0.92, 0.3, 0.92, 0.3, 0.45, 0.2, 0.84, 0.08, 0.8), "item"),
               ("line", (0.5, 0.1, 0.5, 0.92), "dark")],
    "jeans": [("poly", (0.3, 0.1, 0.7, 0.1, 0.76, 0.92, 0.56, 0.92, 0.5, 0.4, 0.44, 0.92, 0.24, 0.92), "item"),
              ("line", (0.3, 0.18, 0.7, 0.18), "dark")],
    # shoes
    "sneaker": [("poly", (0.1, 0.55, 0.45, 0.5, 0.6, 0.35, 0.75, 0.35, 0.9, 0.6, 0.9, 0.72, 0.1, 0.72), "item"),
                ("rect", (0.08, 0.72, 0.92, 0.8), "light")],
    "boot": [("poly", (0.3, 0.12, 0.56, 0.12, 0.58, 0.55, 0.88, 0.64, 0.88, 0.8, 0.3, 0.8), "item"),
             ("rect", (0.28, 0.8, 0.9, 0.86), "dark")],
    "heel": [("poly", (0.1, 0.42, 0.6, 0.62, 0.86, 0.58, 0.88, 0.7, 0.35, 0.72, 0.12, 0.52), "item"),
             ("rect", (0.12, 0.5, 0.17, 0.88), "dark")],
    "loafer": [("ellipse", (0.08, 0.48, 0.92, 0.76), "item"), ("ellipse", (0.3, 0.52, 0.6, 0.62), "dark")],
    "sandal": [("ellipse", (0.1, 0.62, 0.9, 0.78), "item"), ("line", (0.3, 0.65, 0.5, 0.45), "item"),
               ("line", (0.5, 0.45, 0.7, 0.65), "item")],
    # cosmetics
    "bottle": [("rect", (0.35, 0.3, 0.65, 0.9), "item"), ("rect", (0.42, 0.12, 0.58, 0.3), "dark")],
    "jar": [("rect", (0.22, 0.47, 0.78, 0.85), "item"), ("rect", (0.2, 0.35, 0.8, 0.47), "dark")],
    "lipstick": [("rect", (0.42, 0.5, 0.58, 0.92), "dark"), ("poly", (0.42, 0.5, 0.58, 0.28, 0.58, 0.5), "item")],
    # phones
    "smartphone": [("rect", (0.3, 0.08, 0.7, 0.92), "item"), ("rect", (0.33, 0.14, 0.67, 0.84), "dark")],
    "feature_phone": [("rect", (0.35, 0.2, 0.65, 0.86), "item"), ("rect", (0.39, 0.25, 0.61, 0.45), "dark"),
                      ("rect", (0.4, 0.52, 0.6, 0.8), "light")],
    "foldable": [("rect", (0.12, 0.15, 0.49, 0.85), "item"), ("rect", (0.51, 0.15, 0.88, 0.85), "item"),
                 ("rect", (0.15, 0.2, 0.85, 0.8), "dark")],
    # 3C electronics
    "laptop": [("rect", (0.2, 0.12, 0.8, 0.6), "item"), ("rect", (0.24, 0.16, 0.76, 0.56), "dark"),
               ("poly", (0.1, 0.62, 0.9, 0.62, 0.96, 0.74, 0.04, 0.74), "item")],
    "headphones": [("arc", (0.2, 0.15, 0.8, 0.75), "item"), ("ellipse", (0.14, 0.45, 0.34, 0.8), "item"),
                   ("ellipse", (0.66, 0.45, 0.86, 0.8), "item")],
    "camera": [("rect", (0.12, 0.3, 0.88, 0.8), "item"), ("ellipse", (0.34, 0.36, 0.66, 0.74), "dark"),
               ("rect", (0.18, 0.2, 0.4, 0.3), "item")],
    "tablet": [("rect", (0.15, 0.15, 0.85, 0.85), "item"), ("rect", (0.2, 0.2, 0.8, 0.8), "dark")],
    # household appliances
    "fridge": [("rect", (0.28, 0.04, 0.72, 0.96), "item"), ("line", (0.28, 0.36, 0.72, 0.36), "dark"),
               ("rect", (0.62, 0.12, 0.65, 0.3), "dark")],
    "microwave": [("rect", (0.08, 0.28, 0.92, 0.76), "item"), ("rect", (0.13, 0.34, 0.64, 0.7), "dark")],
    "washing_machine": [("rect", (0.18, 0.12, 0.82, 0.92), "item"), ("ellipse", (0.3, 0.35, 0.7, 0.78), "dark")],
    "air_purifier": [("rect", (0.34, 0.12, 0.66, 0.92), "item"), ("line", (0.38, 0.3, 0.62, 0.3), "dark"),
                     ("line", (0.38, 0.4, 0.62, 0.4), "dark"), ("line", (0.38, 0.5, 0.62, 0.5), "dark")],
    # sports equipment
    "bicycle": [("ring", (0.05, 0.5, 0.4, 0.9), "outline"), ("ring", (0.6, 0.5, 0.95, 0.9), "outline"),
                ("poly", (0.22, 0.7, 0.45, 0.4, 0.78, 0.7, 0.5, 0.7), "outline")],
    "racket": [("ring", (0.3, 0.05, 0.7, 0.55), "outline"), ("line", (0.5, 0.55, 0.5, 0.95), "item")],
    "dumbbell": [("rect", (0.15, 0.47, 0.85, 0.53), "dark"), ("rect", (0.12, 0.3, 0.28, 0.7), "item"),
                 ("rect", (0.72, 0.3, 0.88, 0.7), "item")],
    "treadmill": [("poly", (0.05, 0.75, 0.85, 0.7, 0.92, 0.82, 0.05, 0.85), "item"),
                  ("line", (0.8, 0.72, 0.7, 0.2), "item"), ("rect", (0.6, 0.15, 0.8, 0.25), "dark")],
    # baby products
    "stroller": [("poly", (0.2, 0.3, 0.75, 0.3, 0.7, 0.65, 0.25, 0.65), "item"),
                 ("ellipse", (0.2, 0.7, 0.35, 0.85), "dark"), ("ellipse", (0.6, 0.7, 0.75, 0.85), "dark"),
                 ("line", (0.75, 0.3, 0.9, 0.12), "dark")],
    "crib": [("rect", (0.1, 0.3, 0.9, 0.85), "outline"), ("line", (0.3, 0.3, 0.3, 0.85), "item"),
             ("line", (0.5, 0.3, 0.5, 0.85), "item"), ("line", (0.7, 0.3, 0.7, 0.85), "item")],
    "toy": [("ellipse", (0.3, 0.4, 0.7, 0.9), "item"), ("ellipse", (0.35, 0.1, 0.65, 0.42), "item"),
            ("ellipse", (0.3, 0.08, 0.4, 0.18), "item"), ("ellipse", (0.6, 0.08, 0.7, 0.18), "item")],
    "car_seat": [("poly", (0.3, 0.1, 0.6, 0.1, 0.62, 0.6, 0.85, 0.65, 0.85, 0.9, 0.25, 0.9), "item")],
    # accessories
    "watch": [("rect", (0.4, 0.05, 0.6, 0.95), "dark"), ("ellipse", (0.3, 0.3, 0.7, 0.7), "item")],
    "bag": [("poly", (0.2, 0.4, 0.8, 0.4, 0.88, 0.9, 0.12, 0.9), "item"), ("arc", (0.32, 0.15, 0.68, 0.6), "outline")],
    "necklace": [("ring", (0.15, 0.05, 0.85, 0.75), "outline"), ("ellipse", (0.44, 0.7, 0.56, 0.86), "item")],
    "sunglasses": [("ellipse", (0.1, 0.38, 0.45, 0.68), "item"), ("ellipse", (0.55, 0.38, 0.9, 0.68), "item"),
                   ("line", (0.45, 0.48, 0.55, 0.48), "dark")],
}

# Brand marks: a small glyph in a brand colour on the item. Chosen from the brand's name by
# CRC32 (not Python's hash, which is salted per process) so every executor draws the same.
MARK_SHAPES = ("circle", "triangle", "square", "diamond", "cross", "bar", "ring", "chevron")
MARK_COLOURS = ((230, 200, 60), (220, 30, 40), (30, 30, 30), (250, 250, 250), (40, 120, 220),
                (150, 60, 180), (30, 160, 120), (240, 120, 30))
