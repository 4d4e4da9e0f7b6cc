#ifndef POTLUCK_CLMDB_SHIM_H
#define POTLUCK_CLMDB_SHIM_H
#include <lmdb.h>
#endif
