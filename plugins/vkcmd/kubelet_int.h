/* kubelet_int.h - what kubelet.c (TLS, connections, HTTP) and
 * kubelet_logs.c (the containerLogs handler) share. Private to those two.
 */
#ifndef WLKIT_VKCMD_KUBELET_INT_H
#define WLKIT_VKCMD_KUBELET_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* One accepted connection, served by one thread. */
struct kconn;

/* Writes a complete response with a plain-text body ("\n" appended);
 * Connection: close. 0 or -1 when the client is gone. */
int kconn_reply(struct kconn *c, int code, const char *body);
/* Starts a 200 chunked text/plain response; then chunks; then the end. */
int kconn_stream_start(struct kconn *c);
int kconn_chunk(struct kconn *c, const char *data, size_t len);
int kconn_stream_end(struct kconn *c);
/* The socket, to poll it for the client going away. */
int kconn_fd(const struct kconn *c);
/* The server's stop eventfd: readable once the server is stopping. */
int kconn_stop_fd(const struct kconn *c);
/* True when the client went away (poll said POLLIN/POLLHUP on the socket):
 * reads and drops what it sent; true on end of stream or error. */
bool kconn_client_gone(struct kconn *c);

/* A request's query, decoded: returns the value of the last `key`, or NULL. */
struct kquery {
	char **keys, **vals;
	size_t n;
};
const char *kquery_get(const struct kquery *q, const char *key);

/* GET /containerLogs/{ns}/{pod}/{container}?... Answers on c itself. */
void kubelet_container_logs(struct kconn *c, const char *work_dir,
			    const char *ns, const char *pod, const char *ctr,
			    const struct kquery *q);

#endif
