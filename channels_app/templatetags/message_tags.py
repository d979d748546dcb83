from django import template

from channels_app import display

register = template.Library()

# Control pictures are not markup: what was safe stays safe.
register.filter("visible_controls", display.visible_controls, is_safe=True)
