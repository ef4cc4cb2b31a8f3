/**
 * CloudFront Function (cloudfront-js-2.0, viewer request) for the `/render/*` behaviour.
 *
 * The `Accept` header is in the render cache policy's key, and browsers send dozens of
 * different Accept strings. Left alone, each string would be its own cache entry and its own
 * origin render. For `fmt=auto` (or no `fmt`), this function folds Accept into three classes,
 * each sent to the origin as a value the service's ordinary Accept parsing understands:
 *
 *   avif  -> "image/avif,image/webp"  (a browser that takes AVIF also takes WebP; the service
 *                                      picks the best format it can encode)
 *   webp  -> "image/webp"
 *   other -> "image/jpeg"             (JPEG, or whatever the service falls back to)
 *
 * When the viewer asked for an explicit format (`fmt=webp`, `fmt=jpeg`, ...), Accept does not
 * change the answer, so it is set to one constant and all viewers share a single cache entry.
 *
 * Kept as a string so the stack can inline it (FunctionCode.fromInline) and the tests can run
 * the exact same code in a `vm` context.
 */
export const NORMALISE_ACCEPT_SOURCE = `
function handler(event) {
  var request = event.request;
  var fmt = request.querystring && request.querystring.fmt ? request.querystring.fmt.value : 'auto';
  var accept = request.headers.accept ? request.headers.accept.value.toLowerCase() : '';
  var value;
  if (fmt !== 'auto' && fmt !== '') {
    value = '*/*';
  } else if (accept.indexOf('image/avif') !== -1) {
    value = 'image/avif,image/webp';
  } else if (accept.indexOf('image/webp') !== -1) {
    value = 'image/webp';
  } else {
    value = 'image/jpeg';
  }
  request.headers.accept = { value: value };
  return request;
}
`;

/**
 * CloudFront Function (viewer request) for the two S3 behaviours: `/thumbnails/<key>` and
 * `/optimized/<key>` are served from buckets whose object keys have no such prefix, so the
 * first path segment is dropped before CloudFront asks S3 (through origin access control).
 */
export const STRIP_PREFIX_SOURCE = `
function handler(event) {
  var request = event.request;
  request.uri = request.uri.replace(/^\\/(thumbnails|optimized)\\//, '/');
  return request;
}
`;
