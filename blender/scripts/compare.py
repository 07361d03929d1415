# Compares the float pixels of two images (run inside Blender, which decodes them):
#   blender -b --factory-startup -Y -P compare.py -- A.exr B.exr OUT.json
# OUT.json: {"width", "height", "sizes": [[w, h], [w, h]], "maxDifference", "differing"} where
# differing counts channel values that are not equal. EXR files of identical renders differ in
# their headers (dates, timings), so images are compared by their decoded pixels, never by bytes.
import json
import sys
from array import array

import bpy

argv = sys.argv[sys.argv.index('--') + 1:]


def pixels_of(path):
    image = bpy.data.images.load(path)
    width, height = image.size
    values = array('f', bytes(4 * width * height * 4))
    image.pixels.foreach_get(values)
    return (width, height), values


(size_a, a), (size_b, b) = pixels_of(argv[0]), pixels_of(argv[1])
report = {'sizes': [list(size_a), list(size_b)], 'maxDifference': None, 'differing': None}
if size_a == size_b:
    report['width'], report['height'] = size_a
    if a.tobytes() == b.tobytes():
        report['maxDifference'], report['differing'] = 0.0, 0
    else:
        largest, count = 0.0, 0
        for x, y in zip(a, b):
            if x != y:
                count += 1
                difference = abs(x - y)
                if difference != difference or difference > largest:  # NaN counts as the largest
                    largest = float('inf') if difference != difference else difference
        report['maxDifference'], report['differing'] = largest, count
with open(argv[2], 'w') as out:
    json.dump(report, out)
