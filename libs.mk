# The system libraries vmkit links (pkg-config names), shared by the top-level
# Makefile and tests/fuzz/Makefile so every build links the same set.
VMKIT_PKGS := slirp libvncserver libpng zlib
VMKIT_PKG_CFLAGS := $(shell pkg-config --cflags $(VMKIT_PKGS))
VMKIT_PKG_LIBS := $(shell pkg-config --libs $(VMKIT_PKGS))
