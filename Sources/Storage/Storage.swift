/// Safe Swift layer over LMDB.
