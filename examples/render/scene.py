# Builds scene.blend for examples/render: run by make-inputs.sh as
#   blender -b --factory-startup --python scene.py -- OUT.blend
# A small animated scene (frames 1-8): four objects turning on a floor, a camera gliding past,
# a sun and an area light. Cycles on the CPU with a fixed seed, 16 samples and no denoising, so
# a frame is the same pixels wherever it renders; 320x180 and one thread, so a frame takes a
# couple of seconds on one core.
import math
import sys

import bpy

out = sys.argv[sys.argv.index("--") + 1]

# Start from an empty scene (the factory startup has a cube, a camera and a light).
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene


def material(name, rgb, roughness=0.4, metallic=0.0):
    m = bpy.data.materials.new(name)
    m.use_nodes = True
    bsdf = m.node_tree.nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (*rgb, 1.0)
    bsdf.inputs["Roughness"].default_value = roughness
    bsdf.inputs["Metallic"].default_value = metallic
    return m


def place(obj, mat, location):
    obj.location = location
    obj.data.materials.append(mat)
    return obj


def spin(obj, axis, turns):
    """Keys a rotation about `axis` (0, 1, 2) from frame 1 to 8, linear, `turns` full turns."""
    for frame, angle in ((1, 0.0), (8, turns * 2 * math.pi)):
        obj.rotation_euler[axis] = angle
        obj.keyframe_insert("rotation_euler", index=axis, frame=frame)
    for fc in obj.animation_data.action.fcurves:
        for k in fc.keyframe_points:
            k.interpolation = "LINEAR"


# Floor.
bpy.ops.mesh.primitive_plane_add(size=200)
place(bpy.context.object, material("floor", (0.8, 0.78, 0.72), roughness=0.8), (0, 0, 0))

# Four objects, each turning its own way.
bpy.ops.mesh.primitive_cube_add(size=1.4)
cube = place(bpy.context.object, material("red", (0.8, 0.1, 0.08)), (-2.4, 0, 0.9))
cube.rotation_euler = (0.4, 0.3, 0)
spin(cube, 2, 0.25)

bpy.ops.mesh.primitive_ico_sphere_add(subdivisions=3, radius=0.8)
place(bpy.context.object, material("gold", (1.0, 0.7, 0.25), roughness=0.25, metallic=1.0), (-0.8, 1.2, 0.8))
bpy.ops.object.shade_smooth()

bpy.ops.mesh.primitive_torus_add(major_radius=0.8, minor_radius=0.25)
torus = place(bpy.context.object, material("teal", (0.05, 0.5, 0.5)), (0.9, -0.4, 1.0))
torus.rotation_euler = (1.1, 0, 0)
bpy.ops.object.shade_smooth()
spin(torus, 1, 0.5)

bpy.ops.mesh.primitive_monkey_add(size=1.3)
monkey = place(bpy.context.object, material("violet", (0.35, 0.2, 0.7)), (2.6, 0.8, 0.9))
bpy.ops.object.shade_smooth()
spin(monkey, 2, -0.25)

# Lights: a sun for shadows and a large soft area light.
bpy.ops.object.light_add(type="SUN", rotation=(math.radians(40), math.radians(-20), math.radians(30)))
bpy.context.object.data.energy = 3.0
bpy.context.object.data.angle = math.radians(5)
bpy.ops.object.light_add(type="AREA", location=(-3, -4, 5))
bpy.context.object.data.energy = 400.0
bpy.context.object.data.size = 3.0

world = bpy.data.worlds.new("sky")
world.use_nodes = True
world.node_tree.nodes["Background"].inputs["Color"].default_value = (0.45, 0.55, 0.7, 1.0)
world.node_tree.nodes["Background"].inputs["Strength"].default_value = 0.6
scene.world = world

# A camera gliding left to right, always looking at the middle of the group.
target = bpy.data.objects.new("target", None)
target.location = (0, 0.2, 0.8)
scene.collection.objects.link(target)
bpy.ops.object.camera_add()
camera = bpy.context.object
camera.data.lens = 35
scene.camera = camera
track = camera.constraints.new("TRACK_TO")
track.target = target
track.track_axis = "TRACK_NEGATIVE_Z"
track.up_axis = "UP_Y"
for frame, x in ((1, -4.0), (8, 4.0)):
    camera.location = (x, -8.5, 3.2)
    camera.keyframe_insert("location", frame=frame)
for fc in camera.animation_data.action.fcurves:
    for k in fc.keyframe_points:
        k.interpolation = "LINEAR"

# Frames, size, output.
scene.frame_start, scene.frame_end = 1, 8
scene.render.fps = 24
scene.render.resolution_x, scene.render.resolution_y = 320, 180
scene.render.resolution_percentage = 100
scene.render.image_settings.file_format = "PNG"
scene.render.image_settings.color_mode = "RGB"
scene.render.image_settings.color_depth = "8"
scene.render.film_transparent = False
# No date, time or file name in the PNGs' metadata. Cycles still records its own render times
# there, so two renders of a frame have the same pixels but not the same bytes: compare pixels.
for key in dir(scene.render):
    if key.startswith("use_stamp"):
        setattr(scene.render, key, False)

# Cycles on the CPU: fixed seed, fixed samples, no adaptive sampling, no denoising, one thread.
scene.render.engine = "CYCLES"
scene.cycles.device = "CPU"
scene.cycles.samples = 16
scene.cycles.use_adaptive_sampling = False
scene.cycles.use_denoising = False
scene.cycles.seed = 0
scene.cycles.use_animated_seed = False
scene.cycles.max_bounces = 4
scene.render.threads_mode = "FIXED"
scene.render.threads = 1
scene.render.use_persistent_data = False
for layer in scene.view_layers:
    layer.cycles.use_denoising = False

bpy.ops.wm.save_as_mainfile(filepath=out, compress=True)
print("saved", out)
