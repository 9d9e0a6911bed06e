-- wrk script: GET /orders/{id} of random ids from $IDS (one a line).
local counter = 1
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
function init(args)
  ids = {}
  for line in io.lines(os.getenv("IDS")) do ids[#ids + 1] = line end
  key = os.getenv("API_KEY")
  math.randomseed(11 + tid)
end
function request()
  return wrk.format("GET", "/orders/" .. ids[math.random(#ids)], {["X-API-Key"] = key})
end
dofile(os.getenv("WRK_DIR") .. "/report.lua")
