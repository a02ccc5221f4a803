-- wrk script: post chat messages as the token in CASEHUB_TOKEN, each request into the next of
-- the message URLs (paths) listed, space-separated, in CASEHUB_PATHS: load spread over cases.
wrk.method = "POST"
wrk.body = '{"body": "Tekanan darah 120/80, lanjutkan observasi tiap 4 jam.", "kind": "text"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("CASEHUB_TOKEN")

local paths = {}
for path in string.gmatch(os.getenv("CASEHUB_PATHS"), "%S+") do paths[#paths + 1] = path end
local next_index = 0

request = function()
  next_index = next_index % #paths + 1
  return wrk.format(nil, paths[next_index])
end
