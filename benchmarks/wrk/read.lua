-- wrk script: GET /orders/{id} of random ids from $IDS (one a line).
dofile(os.getenv("WRK_DIR") .. "/common.lua")

function init(args)
  ids = {}
  for line in io.lines(os.getenv("IDS")) do ids[#ids + 1] = line end
  key = os.getenv("API_KEY")
  math.randomseed(11 + tid)
end

function request()
  return wrk.format("GET", "/orders/" .. ids[math.random(#ids)], {["X-API-Key"] = key})
end
