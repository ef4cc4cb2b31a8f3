/* The <Code> of an AWS XML error body (S3, CloudFront): read once here for every service
 * that answers in XML. */
#include "enlarger/aws.h"

#include <string.h>

void enl_aws_xml_error_code(const struct enl_aws_response *r, char *out, size_t cap)
{
	out[0] = '\0';
	if (!r->body.data || !r->body.len || cap == 0)
		return;
	const char *s = strstr((const char *)r->body.data, "<Code>");
	if (!s)
		return;
	s += 6;
	/* Codes are identifiers; anything else is not echoed. */
	size_t n = 0;
	while (n + 1 < cap && ((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' && s[n] <= 'z') ||
	                       (s[n] >= '0' && s[n] <= '9')))
		n++;
	memcpy(out, s, n);
	out[n] = '\0';
}
