-- wrk script: GET with the token in CASEHUB_TOKEN.
wrk.headers["Authorization"] = "Bearer " .. os.getenv("CASEHUB_TOKEN")
