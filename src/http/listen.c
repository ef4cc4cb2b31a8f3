/* The listen address of the server: "host:port", "[v6]:port" or ":port", resolved to a
 * socket address. */
#include "server_internal.h"

#include <netdb.h>
#include <stdlib.h>
#include <string.h>

/* "host:port", "[v6]:port" or ":port" (all interfaces). Port 0 = any free port. */
int enl_http_listen_parse(const char *listen, struct sockaddr_storage *out, socklen_t *len_out,
                          struct enl_errmsg *e)
{
	char host[128], port[8];
	const char *colon;
	if (!listen || !*listen)
		return enl_fail(e, ENL_EINVAL, "listen address is empty");
	if (listen[0] == '[') {
		const char *close_br = strchr(listen, ']');
		if (!close_br || close_br[1] != ':' ||
		    (size_t)(close_br - listen - 1) >= sizeof(host))
			return enl_fail(e, ENL_EINVAL, "listen address must be [ipv6]:port");
		memcpy(host, listen + 1, (size_t)(close_br - listen - 1));
		host[close_br - listen - 1] = 0;
		colon = close_br + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon || strchr(listen, ':') != colon ||
		    (size_t)(colon - listen) >= sizeof(host))
			return enl_fail(e, ENL_EINVAL, "listen address must be host:port");
		memcpy(host, listen, (size_t)(colon - listen));
		host[colon - listen] = 0;
	}
	size_t plen = strlen(colon + 1);
	if (plen == 0 || plen >= sizeof(port) || strspn(colon + 1, "0123456789") != plen)
		return enl_fail(e, ENL_EINVAL, "listen port must be a number");
	memcpy(port, colon + 1, plen + 1);
	if (strtoul(port, NULL, 10) > 65535)
		return enl_fail(e, ENL_EINVAL, "listen port must be at most 65535");

	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	int gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (gai != 0 || !res)
		return enl_fail(e, ENL_EINVAL, "listen host cannot be resolved");
	memcpy(out, res->ai_addr, res->ai_addrlen);
	*len_out = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}
