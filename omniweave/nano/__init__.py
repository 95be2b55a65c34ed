"""The nano preset: ShapeWorld and the small pretrained components that live in it."""
