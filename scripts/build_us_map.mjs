// Draws the US states map once, at dev time, so the browser ships no map library.
// Usage: python -m scripts.dump_cities | node scripts/build_us_map.mjs <node_modules>
// Needs the npm packages us-atlas@3 (ISC), d3-geo@3 and topojson-client@3 in <node_modules>.
// Writes assets/us-states.svg (the states, pre-projected by us-atlas with Albers USA at
// scale 1300 into 975x610) and nocturne/components/us_map_points.json (each city projected
// with the same projection, so the dots land on the map). These are the cities' true places:
// nocturne/components/us_map.py spreads the dots that crowd each other (spread()) and draws
// a leader line from each moved dot back to its place.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const modules = path.resolve(process.argv[2] ?? "node_modules");
const require = createRequire(path.join(modules, "noop.js"));
const { geoAlbersUsa, geoPath } = require("d3-geo");
const { feature, mesh } = require("topojson-client");

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const us = JSON.parse(readFileSync(path.join(modules, "us-atlas/states-albers-10m.json")));
const cities = JSON.parse(readFileSync(0, "utf8"));

const draw = geoPath().digits(1);
const nation = draw(feature(us, us.objects.nation));
const borders = draw(mesh(us, us.objects.states, (a, b) => a !== b));
const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 975 610" role="img" aria-label="Map of the United States">
<!-- State shapes: us-atlas states-albers-10m.json (ISC, https://github.com/topojson/us-atlas) -->
<path d="${nation}" fill="#14101f" stroke="#3b2d63" stroke-width="1.2"/>
<path d="${borders}" fill="none" stroke="#2a2046" stroke-width="0.7" stroke-linejoin="round"/>
</svg>
`;
writeFileSync(path.join(root, "assets/us-states.svg"), svg);

const projection = geoAlbersUsa().scale(1300).translate([487.5, 305]);
const points = {};
for (const c of cities) {
  const p = projection([c.longitude, c.latitude]);
  if (!p) throw new Error(`city outside the projection: ${c.id}`);
  points[c.id] = [Math.round(p[0] * 10) / 10, Math.round(p[1] * 10) / 10];
}
writeFileSync(
  path.join(root, "nocturne/components/us_map_points.json"),
  JSON.stringify(points, null, 1) + "\n",
);
console.log(`wrote assets/us-states.svg (${svg.length} bytes) and ${cities.length} city points`);
