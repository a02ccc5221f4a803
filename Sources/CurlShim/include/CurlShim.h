// Typed wrappers for libcurl's variadic setters and getters, which Swift cannot call.
// One wrapper per argument type; libcurl checks that the option matches at run time.
#ifndef CASEHUB_CURL_SHIM_H
#define CASEHUB_CURL_SHIM_H

#include <curl/curl.h>

CURLcode curlshim_easy_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode curlshim_easy_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode curlshim_easy_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode curlshim_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
CURLcode curlshim_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value);
/// For CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION.
CURLcode curlshim_easy_setopt_write_function(CURL *handle, CURLoption option, curl_write_callback callback);
CURLcode curlshim_easy_setopt_read_function(CURL *handle, curl_read_callback callback);
CURLcode curlshim_easy_setopt_prereq_function(CURL *handle, curl_prereq_callback callback);

CURLcode curlshim_easy_setopt_opensocket_function(CURL *handle, curl_opensocket_callback callback);
/// Writes the IP address curl is about to connect to (numeric, NUL-terminated); returns 0 on success.
int curlshim_sockaddr_ip(const struct curl_sockaddr *address, char *buffer, unsigned int length);

CURLcode curlshim_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode curlshim_easy_getinfo_string(CURL *handle, CURLINFO info, char **value);
CURLcode curlshim_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value);

CURLMcode curlshim_multi_setopt_long(CURLM *multi, CURLMoption option, long value);

#endif
