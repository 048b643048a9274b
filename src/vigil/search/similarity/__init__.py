"""Search by appearance: the appearance-vector index ("more like this") and search by an example track or photo."""
