"""An independent numpy implementation of docs/evaluation.md's protocol for EASE and most-popular, used by
bench:quality as a cross-check of reco's figures (not part of the product; needs python3 with numpy).

  python3 ease_reference.py RATINGS_CSV --split-file TRAIN_PAIRS_CSV   # reco's own split (userId,movieId lines)
  python3 ease_reference.py RATINGS_CSV --seeds 42,1,2,3               # splits drawn with numpy's default_rng

Prints one JSON line per split: {"split": ..., "ease": {"ndcg", "precision", "recall"}, "popular": {...}}.
EASE: lambda 200 on the binary matrix, every movie with >= 3 training ratings modelled (no cap), zero diagonal;
other training movies rank below by popularity. Ranking and metrics exactly as docs/evaluation.md says.
"""
import argparse
import json

import numpy as np

K = 10
DISCOUNT = 1 / np.log2(np.arange(2, K + 2))


def numpy_split(user_index, n_users, seed):
    rng = np.random.default_rng(seed)
    train = np.zeros(len(user_index), bool)
    order = np.argsort(user_index, kind="stable")
    starts = np.searchsorted(user_index[order], np.arange(n_users))
    ends = np.append(starts[1:], len(user_index))
    for u in range(n_users):
        rows = order[starts[u]:ends[u]]
        keep = int(round(0.75 * len(rows)))  # Python's round: halves to even, as docs/evaluation.md's reference
        train[rows[rng.permutation(len(rows))[:keep]]] = True
    return train


def metrics(scores, seen, test):
    scores = scores.copy()
    scores[seen] = -np.inf
    top = np.argsort(-scores, axis=1, kind="stable")[:, :K]
    ndcg = precision = recall = 0.0
    users = 0
    for u, relevant in enumerate(test):
        if not relevant:
            continue
        hits = np.array([m in relevant for m in top[u]], float)
        precision += hits.sum() / K
        recall += hits.sum() / len(relevant)
        ndcg += (hits * DISCOUNT).sum() / DISCOUNT[: min(len(relevant), K)].sum()
        users += 1
    return {"ndcg": ndcg / users, "precision": precision / users, "recall": recall / users}


def evaluate(user_index, movie_index, train, n_users, n_movies, lam=200.0, min_ratings=3):
    x = np.zeros((n_users, n_movies))
    x[user_index[train], movie_index[train]] = 1
    counts = x.sum(0)
    candidates = counts > 0
    modelled = counts >= min_ratings
    xm = x[:, modelled]
    gram = xm.T @ xm + lam * np.eye(modelled.sum())
    p = np.linalg.inv(gram)
    b = p / -np.diag(p)
    np.fill_diagonal(b, 0)
    floor = np.where(candidates, -1e3 + 1e-6 * counts, -np.inf)
    ease = np.tile(floor, (n_users, 1))
    ease[:, modelled] = xm @ b
    popular = np.tile(np.where(candidates, counts, -np.inf), (n_users, 1))
    test = [set() for _ in range(n_users)]
    for u, m in zip(user_index[~train], movie_index[~train]):
        test[u].add(m)
    seen = x > 0
    return {"ease": metrics(ease, seen, test), "popular": metrics(popular, seen, test), "modelled": int(modelled.sum())}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ratings")
    ap.add_argument("--split-file")
    ap.add_argument("--seeds", default="")
    args = ap.parse_args()
    data = np.loadtxt(args.ratings, delimiter=",", skiprows=1, usecols=(0, 1), dtype=np.int64)
    users, user_index = np.unique(data[:, 0], return_inverse=True)
    movies, movie_index = np.unique(data[:, 1], return_inverse=True)
    n_users, n_movies = len(users), len(movies)
    if args.split_file:
        pairs = np.loadtxt(args.split_file, delimiter=",", dtype=np.int64, ndmin=2)
        kept = set(map(tuple, pairs.tolist()))
        train = np.array([(int(u), int(m)) in kept for u, m in data[:, :2]])
        print(json.dumps({"split": "reco", **evaluate(user_index, movie_index, train, n_users, n_movies)}), flush=True)
    for seed in filter(None, args.seeds.split(",")):
        train = numpy_split(user_index, n_users, int(seed))
        print(json.dumps({"split": f"numpy default_rng({seed})", **evaluate(user_index, movie_index, train, n_users, n_movies)}), flush=True)


if __name__ == "__main__":
    main()
