-- Map tiles for wrk (benches/load.sh ... tiles.lua): the grid, hotspot and
-- basemap tiles of a map view over central Stockholm at zooms 12-14 (a 4 x 4
-- block of tiles each), asked with gzip as a browser asks them. After the first
-- round every tile is in the answer cache, so this measures cached tiles per
-- second. Seeded, so every run asks the same sequence.
local paths = {}
local views = { {12, 2251, 1202}, {13, 4504, 2407}, {14, 9012, 4816} }
for _, v in ipairs(views) do
  local z, x0, y0 = v[1], v[2], v[3]
  for dx = 0, 3 do
    for dy = 0, 3 do
      local t = z .. "/" .. (x0 + dx) .. "/" .. (y0 + dy)
      paths[#paths + 1] = "/tiles/grid/" .. t .. ".mvt?from=2024-01-01&to=2024-12-31&source=crimes"
      paths[#paths + 1] = "/tiles/hotspots/" .. t .. ".mvt?from=2024-01-01&to=2024-12-31&source=crimes"
      paths[#paths + 1] = "/tiles/basemap/" .. t .. ".mvt"
    end
  end
end
math.randomseed(20241202)
request = function()
  local path = paths[math.random(#paths)]
  return wrk.format("GET", path, {
    ["Authorization"] = "Bearer " .. os.getenv("TRYGG_LOAD_KEY"),
    ["Accept-Encoding"] = "gzip",
  })
end
