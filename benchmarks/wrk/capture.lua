-- wrk script: POST /orders with bodies from $BODIES (one JSON a line), each request
-- its own Idempotency-Key ($RUN-thread-n).
dofile(os.getenv("WRK_DIR") .. "/common.lua")

function init(args)
  bodies = {}
  for line in io.lines(os.getenv("BODIES")) do bodies[#bodies + 1] = line end
  run, key, n = os.getenv("RUN"), os.getenv("API_KEY"), 0
end

function request()
  n = n + 1
  local body = bodies[(n * 7 + tid * 1000) % #bodies + 1]
  return wrk.format("POST", "/orders", {["Content-Type"] = "application/json",
    ["X-API-Key"] = key, ["Idempotency-Key"] = run .. "-" .. tid .. "-" .. n}, body)
end
