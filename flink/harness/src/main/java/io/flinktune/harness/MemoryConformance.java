package io.flinktune.harness;

import org.apache.flink.runtime.util.bash.BashJavaUtils;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ArrayNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Runs Flink's own start-up memory derivation, {@link BashJavaUtils#main}, in-process for every
 * configuration read from standard input, exactly as the bash scripts invoke it:
 * {@code GET_TM_RESOURCE_PARAMS|GET_JM_RESOURCE_PARAMS --configDir DIR -D k=v ...}.
 *
 * <p>Input: one JSON object a line, {@code {"id": "...", "mode": "tm"|"jm", "config": {k: v}}}.
 * Output: one JSON object a line with the same id and either {@code "lines"} (what BashJavaUtils
 * printed after its {@code BASH_JAVA_UTILS_EXEC_RESULT:} prefix) or the exception it threw:
 * {@code "error_class"} (fully qualified), {@code "error_message"} and {@code "causes"}
 * ("SimpleName: message" for each cause). The config directory holds an empty configuration
 * file unless "via" is "file"; the environment (FLINK_TM_HEAP,
 * FLINK_JM_HEAP) is the process's own.
 */
public final class MemoryConformance {
    private static final String PREFIX = BashJavaUtils.EXECUTION_PREFIX;

    public static void main(String[] args) throws Exception {
        PrintStream results = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        // Anything logged or printed by Flink must not mix with the results.
        System.setOut(System.err);
        File confDir = Files.createTempDirectory("flinktune-bju").toFile();
        confDir.deleteOnExit();
        String confFile = args.length > 0 ? args[0] : "flink-conf.yaml";
        File conf = new File(confDir, confFile);
        yamlQuote = "config.yaml".equals(confFile);
        Files.write(conf.toPath(), new byte[0]);
        conf.deleteOnExit();

        ObjectMapper mapper = new ObjectMapper();
        BufferedReader in =
                new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode req = mapper.readTree(line);
            ObjectNode out = mapper.createObjectNode();
            out.put("id", req.path("id").asText());
            run(req, confDir, conf, out);
            results.println(mapper.writeValueAsString(out));
        }
        results.flush();
    }

    /**
     * Values are written as they would be in the version's file: raw in the legacy flink-conf.yaml,
     * a single-quoted YAML string in config.yaml (so that YAML typing does not turn "0x400"
     * into 1024).
     */
    private static boolean yamlQuote;

    private static String fileValue(String v) {
        if (!yamlQuote) {
            return v;
        }
        return "'" + v.replace("'", "''") + "'";
    }

    private static void run(JsonNode req, File confDir, File conf, ObjectNode out)
            throws java.io.IOException {
        boolean viaFile = "file".equals(req.path("via").asText());
        StringBuilder file = new StringBuilder();
        List<String> argv = new ArrayList<>();
        argv.add("jm".equals(req.path("mode").asText()) ? "GET_JM_RESOURCE_PARAMS" : "GET_TM_RESOURCE_PARAMS");
        argv.add("--configDir");
        argv.add(confDir.getAbsolutePath());
        Iterator<Map.Entry<String, JsonNode>> it = req.path("config").fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            if (viaFile) {
                file.append(e.getKey()).append(": ").append(fileValue(e.getValue().asText())).append('\n');
            } else {
                argv.add("-D");
                argv.add(e.getKey() + "=" + e.getValue().asText());
            }
        }
        Files.write(conf.toPath(), file.toString().getBytes(StandardCharsets.UTF_8));
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream saved = System.out;
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            BashJavaUtils.main(argv.toArray(new String[0]));
        } catch (Throwable t) {
            out.put("error_class", t.getClass().getName());
            out.put("error_message", String.valueOf(t.getMessage()));
            ArrayNode causes = out.putArray("causes");
            for (Throwable c = t.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
                causes.add(c.getClass().getSimpleName() + ": " + c.getMessage());
            }
            return;
        } finally {
            System.setOut(saved);
        }
        ArrayNode lines = out.putArray("lines");
        for (String l : buf.toString(StandardCharsets.UTF_8).split("\n")) {
            if (l.startsWith(PREFIX)) {
                lines.add(l.substring(PREFIX.length()));
            }
        }
    }
}
