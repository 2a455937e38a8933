# Pinned versions and checksums of everything tracedrop builds with. Sourced by setup.sh.
# Debian packages (bookworm).
EMSCRIPTEN_DEB="3.1.6~dfsg-5"
CATCH2_DEB="2.13.10-1"
NLOHMANN_DEB="3.11.2-2"
# chromium (headless, for tests/browser and bench/wasm) is the one Debian package left
# unpinned on purpose: bookworm ships it only through bookworm-security, where every release
# replaces the previous one, so a pinned version stops installing within weeks. Tested with
# 156.0.8078.79-1~deb12u1; the browser tests need any Chromium with wasm SIMD and exceptions.

# SQLite 3.40.1 from Debian's sqlite3 source package (upstream tarballs + Debian patches).
SQLITE_DEB="3.40.1-2+deb12u2"
SQLITE_DSC="sqlite3_3.40.1-2+deb12u2.dsc"
SQLITE_DSC_SHA256="ee3459ae9d00939741c7708fc1b8ce1bde12d8c3fb1dfa005bbbc8651d884e23"
SQLITE_ORIG="sqlite3_3.40.1.orig.tar.xz"
SQLITE_ORIG_SHA256="aaa776260ab4dc976db34aa7891819484c8676b5b2783123ebc6301e2ca5d655"
SQLITE_ORIG_WWW="sqlite3_3.40.1.orig-www.tar.xz"
SQLITE_ORIG_WWW_SHA256="a5e95a18d1b59729278860559ded78751b9163ffb5bb906c5cd24c015f71d5fd"
SQLITE_DEBIAN="sqlite3_3.40.1-2+deb12u2.debian.tar.xz"
SQLITE_DEBIAN_SHA256="0843bc12e4364076477935ce313a6d0796fd899a989ff18ebb6545540e10e4ca"

# zlib 1.2.13 from Debian's zlib source package (compiled into the wasm module).
ZLIB_DEB="1:1.2.13.dfsg-1"
ZLIB_ORIG="zlib_1.2.13.dfsg.orig.tar.bz2"
ZLIB_ORIG_SHA256="71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1"
