# vmkit top-level Makefile.
#   make            build build/vmkit
#   make check      install missing deps, build, run every test (unit, guests, fuzz, integration, rig)
#   make demo       boot a demo Linux VM to a busybox shell
#   make asan       build with AddressSanitizer + UBSan into build/asan/
#   make bench      run benchmarks (prints ratios against QEMU)

CC ?= gcc
BUILD ?= build
CFLAGS_BASE := -std=gnu11 -D_GNU_SOURCE -Iinclude -Wall -Wextra -Werror -Wno-unused-parameter \
	-Wshadow -Wstrict-prototypes -pthread -MMD -MP
OPT ?= -O2 -g
CFLAGS += $(CFLAGS_BASE) $(OPT) $(EXTRA_CFLAGS)
LDFLAGS += -pthread $(EXTRA_LDFLAGS)
include libs.mk
CFLAGS_BASE += $(VMKIT_PKG_CFLAGS)
LDLIBS += $(VMKIT_PKG_LIBS)

# io_uring for the disk backend (liburing-dev); without it disks use the thread pool.
ifneq ($(shell pkg-config --exists liburing 2>/dev/null && echo yes),)
CFLAGS += -DVMKIT_HAVE_LIBURING $(shell pkg-config --cflags liburing)
LDLIBS += $(shell pkg-config --libs liburing)
endif

LIB_SRCS := $(shell find src -name '*.c' ! -path 'src/cmd/*' | sort)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
VMKIT_SRCS := $(wildcard src/cmd/vmkit/*.c)
VMKIT_OBJS := $(VMKIT_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
UNIT_HELPERS := $(filter-out tests/unit/test_%.c,$(wildcard tests/unit/*.c))

.PHONY: all check unit guests fuzz integration rig demo asan bench clean deps man

all: $(BUILD)/vmkit

$(BUILD)/libvmkit.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/vmkit: $(VMKIT_OBJS) $(BUILD)/libvmkit.a
	$(CC) $(LDFLAGS) -o $@ $(VMKIT_OBJS) $(BUILD)/libvmkit.a $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/unit/%: tests/unit/%.c $(UNIT_HELPERS) $(BUILD)/libvmkit.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(UNIT_HELPERS) $(BUILD)/libvmkit.a $(LDFLAGS) -lcmocka $(LDLIBS)

deps:
	@scripts/install-deps

unit: $(UNIT_BINS)
	@scripts/run-unit $(UNIT_BINS)

guests:
	$(MAKE) -C tests/guests

fuzz:
	$(MAKE) -C tests/fuzz run

check: deps
	@scripts/check

demo: deps all
	@scripts/demo

asan:
	$(MAKE) BUILD=build/asan EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer" \
		EXTRA_LDFLAGS="-fsanitize=address,undefined" OPT="-O1 -g" build/asan/vmkit \
		$(UNIT_SRCS:tests/unit/%.c=build/asan/tests/unit/%)

bench: deps all
	@bench/run-all

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
