#include "fiptgen/model.h"

#include "fiptgen/protocols.h"

namespace fiptgen {

Config DefaultConfig() {
  Config c;
  MetadataConfig md;
  md.addr = *ParseIpNet("127.0.0.1", 4);
  md.port = 8775;
  c.metadata = md;
  c.failsafe_inbound = {{kProtoTcp, 22}};
  c.failsafe_outbound = {
      {kProtoTcp, 2379}, {kProtoTcp, 2380}, {kProtoTcp, 4001}, {kProtoTcp, 7001}};
  return c;
}

}  // namespace fiptgen
