# Makefile for dbreset (PGXS)
#
# Builds against whichever pg_config is on the PATH, or PG_CONFIG=...
# The version comes from dbreset.control, the single source of it.

EXTENSION = dbreset
EXTVERSION = $(shell sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" $(EXTENSION).control)

MODULE_big = dbreset
# the layers (src/README.md): base, core, commands; scripts/layers checks
# that they call one way only
OBJS = src/dbreset.o \
       $(patsubst %.c,%.o,$(sort $(wildcard src/base/*.c src/core/*.c src/commands/*.c)))
DATA = $(wildcard $(EXTENSION)--*.sql) $(wildcard $(EXTENSION)--*.control)
PGFILEDESC = "dbreset - force-drop, reset and copy databases from SQL"

PG_CPPFLAGS = -I$(srcdir)/src -DDBRESET_VERSION=\"$(EXTVERSION)\"
# -Wall -Wextra on our own code; the server headers are treated as system
# headers so that their unused inline parameters do not count.  -Werror only
# where we build and test (scripts/test passes DBRESET_WERROR=1), never in a
# user's "make" with a compiler newer than ours.
# test builds (scripts/test passes DBRESET_TESTING=1): the test points of
# src/base/testpoint.c and their setting dbreset.test_stop_at
PG_CPPFLAGS += $(if $(DBRESET_TESTING),-DDBRESET_TESTING)
PG_CFLAGS = -Wall -Wextra $(if $(DBRESET_WERROR),-Werror) -isystem $(shell $(PG_CONFIG) --includedir-server)

# pg_regress files are derived from what is there
REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
# server settings of the temporary instances; scripts/test points this at a
# copy with dbreset.use_force_option = off for its second pass
DBRESET_TEMP_CONFIG ?= scripts/regress.conf
REGRESS_OPTS = --temp-instance=tmp_check --temp-config=$(DBRESET_TEMP_CONFIG)

ISOLATION = $(patsubst specs/%.spec,%,$(sort $(wildcard specs/*.spec)))
ISOLATION_OPTS = --temp-instance=tmp_check_iso --temp-config=$(DBRESET_TEMP_CONFIG)

# TAP tests (t/*.pl); scripts/test runs them itself (TAP_TESTS=), once per
# major and per dbreset.use_force_option setting
TAP_TESTS = 1

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXN: "make dist" makes dbreset-<version>.zip of HEAD (committed work
# only), every file under the directory dbreset-<version>/, as PGXN wants;
# the version is META.json's (its first "version", the distribution's).
# DISTFILE=path writes the zip elsewhere (scripts/package).  Run it in the
# source directory; it needs no pg_config.  PGXS has no
# target of that name (distprep, distclean only).
DISTVERSION = $(shell sed -n '/"version"/{s/.*"version"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p;q;}' $(CURDIR)/META.json)
DISTFILE = $(EXTENSION)-$(DISTVERSION).zip
dist:
	git -c safe.directory=$(CURDIR) -C $(CURDIR) archive --format zip --prefix $(EXTENSION)-$(DISTVERSION)/ HEAD >$(DISTFILE) || { rm -f $(DISTFILE); exit 1; }
.PHONY: dist
