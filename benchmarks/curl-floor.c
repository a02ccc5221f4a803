/* libcurl alone: what one thread driving a multi handle can send, with nothing else to do.
 *
 * Usage: curl-floor URL CONNECTIONS SECONDS
 * Keeps CONNECTIONS POSTs in flight to URL (each easy handle re-added as soon as it ends, so
 * connections are reused), with the headers and a body the size of a thin webhook event, and
 * prints the completed requests per second. No signing, rendering or storing: this is the
 * most the hub's single libcurl thread could send, the floor under its webhook figure. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static size_t discard(char *data, size_t size, size_t count, void *user) {
    (void)data; (void)user;
    return size * count;
}

static double seconds_now(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec + now.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: curl-floor URL CONNECTIONS SECONDS\n");
        return 2;
    }
    const char *url = argv[1];
    int connections = atoi(argv[2]);
    double duration = atof(argv[3]);
    static const char body[] =
        "{\"id\":\"evt_019ab0f0c3d87e2a9b1c4d5e6f708192\",\"type\":\"message.posted\","
        "\"created_at\":\"2026-11-23T08:00:00.000Z\",\"case_id\":\"019ab0f0-c3d8-7e2a-9b1c-4d5e6f708192\","
        "\"thread\":\"ppa\",\"seq\":61,\"data\":{\"message_id\":\"019ab0f0-c3d8-7e2a-9b1c-4d5e6f708193\",\"kind\":\"text\"}}";

    curl_global_init(CURL_GLOBAL_ALL);
    CURLM *multi = curl_multi_init();
    struct curl_slist *headers = NULL;
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "webhook-id: evt_019ab0f0c3d87e2a9b1c4d5e6f708192");
    headers = curl_slist_append(headers, "webhook-timestamp: 1795420800");
    headers = curl_slist_append(headers, "webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    for (int i = 0; i < connections; i++) {
        CURL *easy = curl_easy_init();
        curl_easy_setopt(easy, CURLOPT_URL, url);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
        curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 10000L);
        curl_multi_add_handle(multi, easy);
    }

    long completed = 0;
    double start = seconds_now();
    while (seconds_now() - start < duration) {
        int running = 0, left = 0;
        curl_multi_perform(multi, &running);
        CURLMsg *message;
        while ((message = curl_multi_info_read(multi, &left))) {
            if (message->msg != CURLMSG_DONE) continue;
            long status = 0;
            curl_easy_getinfo(message->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            if (message->data.result == CURLE_OK && status >= 200 && status < 300) completed++;
            curl_multi_remove_handle(multi, message->easy_handle);
            curl_multi_add_handle(multi, message->easy_handle);
        }
        curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    printf("%.0f\n", completed / (seconds_now() - start));
    return 0;
}
