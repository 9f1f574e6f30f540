import json

from lab.data.sources import sizes

print(json.dumps(sizes(), indent=1))
