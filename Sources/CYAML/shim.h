// libyaml (Debian libyaml-dev), the YAML 1.1 parser the configuration and registry files are read
// with: the event parser only, composed into nodes by FuelWire's YAMLDocument.
#include <yaml.h>
