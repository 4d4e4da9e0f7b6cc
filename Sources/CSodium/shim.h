#ifndef POTLUCK_CSODIUM_SHIM_H
#define POTLUCK_CSODIUM_SHIM_H
#include <sodium.h>
#endif
