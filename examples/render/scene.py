# Builds scene.blend for examples/render: a small animated scene rendered with Cycles on the
# CPU with a fixed seed, a fixed sample count and no denoising, so every machine renders the
# same pixels. Run by make-inputs.sh through `blender -b --factory-startup --python`.
import math
import sys

import bpy

out = sys.argv[sys.argv.index("--") + 1]
scene = bpy.context.scene
for obj in list(bpy.data.objects):
    bpy.data.objects.remove(obj, do_unlink=True)

scene.render.engine = "CYCLES"
scene.cycles.device = "CPU"
scene.cycles.samples = 16
scene.cycles.seed = 7
scene.cycles.use_denoising = False
scene.cycles.use_adaptive_sampling = False
scene.render.threads_mode = "FIXED"
scene.render.threads = 1
scene.render.resolution_x = 320
scene.render.resolution_y = 180
scene.render.resolution_percentage = 100
scene.render.image_settings.file_format = "PNG"
scene.frame_start = 1
scene.frame_end = 8

bpy.ops.mesh.primitive_plane_add(size=20, location=(0, 0, 0))
for index, (x, colour) in enumerate([(-2.5, (0.9, 0.2, 0.1, 1)), (0, (0.1, 0.6, 0.9, 1)), (2.5, (0.2, 0.8, 0.3, 1))]):
    bpy.ops.mesh.primitive_uv_sphere_add(radius=0.9, location=(x, 0, 1))
    sphere = bpy.context.object
    material = bpy.data.materials.new(f"colour{index}")
    material.use_nodes = True
    material.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value = colour
    sphere.data.materials.append(material)
    # Each sphere bounces with its own phase over the eight frames.
    for frame in range(1, 9):
        sphere.location.z = 1 + abs(math.sin((frame + index * 2) * math.pi / 8)) * 1.5
        sphere.keyframe_insert(data_path="location", frame=frame)

bpy.ops.object.light_add(type="SUN", location=(4, -4, 8))
bpy.context.object.data.energy = 4
bpy.ops.object.camera_add(location=(0, -9, 4), rotation=(math.radians(70), 0, 0))
scene.camera = bpy.context.object
bpy.ops.wm.save_as_mainfile(filepath=out)
