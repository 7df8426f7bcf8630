package dev.flinktune.autoscalerharness;

import java.util.List;
import java.util.Map;

/** The lockstep protocol's JSON lines (flat shapes; no library needed). */
final class Json {
    private Json() {}

    static String error(String msg) {
        return "{\"error\":" + str(msg) + "}";
    }

    static String outcomes(List<Harness.Outcome> outcomes, List<String> fetchErrors) {
        StringBuilder b = new StringBuilder("{\"fetchErrors\":[");
        for (int i = 0; i < fetchErrors.size(); i++) {
            b.append(i > 0 ? "," : "").append(str(fetchErrors.get(i)));
        }
        b.append("],\"jobs\":[");
        for (int i = 0; i < outcomes.size(); i++) {
            var o = outcomes.get(i);
            if (i > 0) {
                b.append(',');
            }
            b.append("{\"jobId\":").append(str(o.job().toHexString()));
            b.append(",\"status\":").append(str(o.status()));
            b.append(",\"decided\":").append(map(o.decided()));
            b.append(",\"overrides\":").append(map(o.overrides()));
            b.append(",\"configOverrides\":").append(map(o.configOverrides()));
            b.append(",\"events\":[");
            for (int j = 0; j < o.events().size(); j++) {
                var e = o.events().get(j);
                if (j > 0) {
                    b.append(',');
                }
                b.append("{\"type\":").append(str(e.type()));
                b.append(",\"reason\":").append(str(e.reason()));
                b.append(",\"message\":").append(str(e.message())).append('}');
            }
            b.append("]}");
        }
        return b.append("]}").toString();
    }

    private static String map(Map<String, ?> m) {
        StringBuilder b = new StringBuilder("{");
        boolean first = true;
        for (var e : m.entrySet()) {
            if (!first) {
                b.append(',');
            }
            first = false;
            b.append(str(e.getKey())).append(':');
            Object v = e.getValue();
            b.append(v instanceof Number ? v.toString() : str(String.valueOf(v)));
        }
        return b.append('}').toString();
    }

    static String str(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
