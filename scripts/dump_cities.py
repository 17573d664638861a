"""Print the city catalogue as JSON (input of scripts/build_us_map.mjs)."""

import json

from nocturne.cities import CITIES

if __name__ == "__main__":
    print(
        json.dumps([{"id": c.id, "latitude": c.latitude, "longitude": c.longitude} for c in CITIES])
    )
