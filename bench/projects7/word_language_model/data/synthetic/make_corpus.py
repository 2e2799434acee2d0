"""Writes train.txt, valid.txt and test.txt: the stand-in for wikitext-2 (nothing is downloaded).

Sentences from a first-order Markov chain over 120 made-up words, each word followed by one of
four successors (the first twice as likely as the others), 6 to 16 words a line. Run once; the
files are part of the project, as wikitext-2's are part of pytorch/examples.
"""
import os
import random

random.seed(20261207)
VOCAB = [f"w{i:03d}" for i in range(120)]
NEXT = {w: random.sample(VOCAB, 4) for w in VOCAB}


def sentence():
    word = random.choice(VOCAB[:20])
    words = [word]
    for _ in range(random.randint(5, 15)):
        word = random.choices(NEXT[word], weights=(2, 1, 1, 1))[0]
        words.append(word)
    return " ".join(words)


here = os.path.dirname(os.path.abspath(__file__))
for name, lines in (("train.txt", 3600), ("valid.txt", 360), ("test.txt", 360)):
    with open(os.path.join(here, name), "w", encoding="utf8") as f:
        for _ in range(lines):
            f.write(" " + sentence() + " \n")
