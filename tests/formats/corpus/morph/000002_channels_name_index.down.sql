-- morph:nontransactional
DROP INDEX channels_name;
