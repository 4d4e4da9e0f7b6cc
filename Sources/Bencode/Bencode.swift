/// BEP 3 bencoding. See spec/0001-bencode.md.
