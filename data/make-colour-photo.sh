#!/usr/bin/env bash
# Makes data/colour/adobe_rgb_gps.jpg, the photo the colour and metadata tests use, from
# data/images/rocket.jpg: 320x480 stored, shown 480x320 (EXIF Orientation 6), pixels in Adobe
# RGB (1998) with a profile of those primaries made by Little CMS, EXIF with camera, date and
# GPS (Greenwich), XMP and IPTC. Its output is committed; tests do not run this.
# Needs g++, pkg-config, libopencv-dev, liblcms2-dev and libexiv2-dev (scripts/install-deps.sh).
#
#   data/make-colour-photo.sh [OUT.jpg]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-data/colour/adobe_rgb_gps.jpg}
tool=$(mktemp /tmp/make_colour_photo.XXXXXX)
trap 'rm -f "$tool"' EXIT
# shellcheck disable=SC2046  # pkg-config prints several words
g++ -std=c++17 -O1 -w -o "$tool" data/make_colour_photo.cpp $(pkg-config --cflags --libs opencv4 lcms2 exiv2)
mkdir -p "$(dirname "$out")"
"$tool" data/images/rocket.jpg "$out"
echo "wrote $out ($(stat -c %s "$out") bytes)"
