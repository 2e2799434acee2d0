"""Writes a small synthetic stand-in for the Cora citation network in Cora's own format
(`cora.content`: paper id, 0/1 word columns, class name; `cora.cites`: cited id, citing id),
from a fixed seed, so that nothing is downloaded. Papers of a class share topic words and
mostly cite papers of their own class, as in Cora."""
import os

import numpy as np

CLASSES = ["Case_Based", "Genetic_Algorithms", "Neural_Networks", "Probabilistic_Methods",
           "Reinforcement_Learning"]
N_PAPERS, N_WORDS, WORDS_PER_PAPER, TOPIC_SHARE = 800, 300, 18, 0.12
CITES_PER_PAPER, SAME_CLASS_CITES = 3, 0.6


def main():
    rng = np.random.RandomState(7)
    here = os.path.dirname(os.path.abspath(__file__))
    ids = rng.choice(np.arange(1000, 1200000), N_PAPERS, replace=False)
    classes = rng.randint(len(CLASSES), size=N_PAPERS)
    topics = rng.permutation(N_WORDS)[:len(CLASSES) * 30].reshape(len(CLASSES), 30)
    words = np.zeros((N_PAPERS, N_WORDS), dtype=np.int64)
    for i, c in enumerate(classes):
        n_topic = rng.binomial(WORDS_PER_PAPER, TOPIC_SHARE)
        chosen = np.concatenate([rng.choice(topics[c], n_topic, replace=False),
                                 rng.choice(N_WORDS, WORDS_PER_PAPER - n_topic, replace=False)])
        words[i, chosen] = 1
    with open(os.path.join(here, "cora.content"), "w") as f:
        for i in range(N_PAPERS):
            f.write("\t".join([str(ids[i]), *map(str, words[i]), CLASSES[classes[i]]]) + "\n")
    with open(os.path.join(here, "cora.cites"), "w") as f:
        for i in range(N_PAPERS):
            same = np.flatnonzero(classes == classes[i])
            for _ in range(CITES_PER_PAPER):
                pool = same if rng.rand() < SAME_CLASS_CITES else np.arange(N_PAPERS)
                j = rng.choice(pool)
                if j != i:
                    f.write("{}\t{}\n".format(ids[j], ids[i]))


if __name__ == "__main__":
    main()
