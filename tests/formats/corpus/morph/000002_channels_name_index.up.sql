-- morph:nontransactional
CREATE INDEX channels_name ON channels (name);
