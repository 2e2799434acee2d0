"""Writes a small synthetic stand-in for the Oxford-IIIT Pet images folder
(`<Breed>_<n>.jpg`, the breed read back from the file name), so that nothing is downloaded.
Each breed has its own colouring and its own shape drawn at a random place on a noisy
background."""

import os

import numpy as np
from PIL import Image, ImageDraw

BREEDS = ["Abyssinian", "Bengal", "beagle", "pug"]
IMAGES_PER_BREED = {"Abyssinian": 360, "Bengal": 80, "beagle": 80, "pug": 80}
COLOURS = [(200, 120, 60), (180, 140, 70), (150, 110, 80), (190, 130, 50)]


def draw_pet(rng, breed_index, size=32):
    background = rng.randint(60, 200, size=3)
    pixels = np.clip(background + rng.normal(0, 30, size=(size, size, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    colour = tuple(int(c + rng.randint(-25, 25)) for c in COLOURS[breed_index])
    r = rng.randint(6, 10)
    cx, cy = rng.randint(r, size - r, size=2)
    if breed_index == 0:
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    elif breed_index == 1:
        draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=colour)
    elif breed_index == 2:
        draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=colour)
    else:
        for k in range(-r, r + 1, 4):
            draw.line([cx - r, cy + k, cx + r, cy + k], fill=colour, width=2)
    return image


def make_pets(data_dir, seed=0):
    os.makedirs(data_dir, exist_ok=True)
    rng = np.random.RandomState(seed)
    for breed_index, breed in enumerate(BREEDS):
        for n in range(1, IMAGES_PER_BREED[breed] + 1):
            draw_pet(rng, breed_index).save(os.path.join(data_dir, f"{breed}_{n}.jpg"), quality=95)


if __name__ == "__main__":
    make_pets("images")
