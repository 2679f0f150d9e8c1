#ifndef PASSERELLE_CZEROMQ_SHIM_H
#define PASSERELLE_CZEROMQ_SHIM_H
#include <zmq.h>
#include <errno.h>
#include <sys/eventfd.h>

/// zmq_errno() wrapper so Swift reads the thread's errno through libzmq.
static inline int czmq_errno(void) { return zmq_errno(); }
#endif
