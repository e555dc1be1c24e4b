"""Every test process talks to a moto that answers as AWS does (testkit.moto_patches)."""

from testkit import moto_patches

moto_patches.apply()
