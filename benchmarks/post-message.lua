-- wrk script: post a chat message as the token in CASEHUB_TOKEN.
wrk.method = "POST"
wrk.body = '{"body": "Tekanan darah 120/80, lanjutkan observasi tiap 4 jam.", "kind": "text"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("CASEHUB_TOKEN")
