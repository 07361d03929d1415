# What this Blender can render (run by `bitwrk worker blender` at start):
#   blender -b --factory-startup -Y -P probe.py -- OUT.json
# OUT.json: {"version", "denoiser", "osl", "cpuCapabilities", "devices", "formats"}.
import json
import sys

import bpy
import _cycles

info = _cycles.system_info() if hasattr(_cycles, 'system_info') else ''
capabilities = []
for line in info.splitlines():
    if 'CPU device capabilities:' in line:
        capabilities = line.split(':', 1)[1].split()


def _safe_devices(kind):
    try:
        return _cycles.available_devices(kind)
    except Exception:  # noqa: BLE001 (a kind this build does not know)
        return ()


formats = [item.identifier for item in bpy.types.ImageFormatSettings.bl_rna.properties['file_format'].enum_items]
devices = sorted({device[1] for kind in ('CPU', 'CUDA', 'OPTIX', 'HIP', 'METAL', 'ONEAPI') for device in _safe_devices(kind)})
with open(sys.argv[sys.argv.index('--') + 1], 'w') as out:
    json.dump({
        'version': '%d.%d.%d' % bpy.app.version,
        'denoiser': bool(getattr(_cycles, 'with_openimagedenoise', False)),
        'osl': bool(getattr(_cycles, 'with_osl', False)),
        'cpuCapabilities': capabilities,
        'devices': devices,
        'formats': formats,
    }, out)
