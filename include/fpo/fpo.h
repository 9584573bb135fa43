/* libfpo umbrella header: include this one. */
#ifndef FPO_FPO_H
#define FPO_FPO_H

#include "fpo/version.h"
#include "fpo/common.h"

#endif
