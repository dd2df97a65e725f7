package org.asi.example;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A plant reports material it received to the ASI chain-of-custody platform, then reads the
 * platform's answer for that event: the movement intake recorded (material.movements.v1) or the
 * refusal with its reasons (intake.rejections.v1). See README.md.
 */
public final class PlantProducer {
    static final String PLANT_EVENTS = "plant.events.v1";
    static final String MOVEMENTS = "material.movements.v1";
    static final String REJECTIONS = "intake.rejections.v1";
    static final ObjectMapper JSON = new ObjectMapper();

    public static void main(String[] argv) throws Exception {
        Map<String, String> args = parse(argv);
        String organisation = args.get("organisation");
        String site = args.get("site");
        if (organisation == null || site == null) {
            System.err.println("usage: java -jar target/asi-java-producer.jar --organisation ORG --site SITE"
                    + " [--bootstrap HOST:PORT] [--quantity 22.5 --unit t]");
            System.exit(64);
        }
        String bootstrap = args.getOrDefault("bootstrap",
                System.getenv().getOrDefault("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092"));
        Duration timeout = Duration.ofSeconds(Long.parseLong(args.getOrDefault("timeout", "60")));

        ObjectNode event = plantEvent(organisation, site, args);
        String eventId = event.get("event_id").asText();

        try (KafkaConsumer<String, String> answers = answerReader(bootstrap);
             KafkaProducer<String, String> producer = producer(bootstrap)) {
            // Send it, keyed by site id (the topic's partition key: a site's events stay in order).
            producer.send(new ProducerRecord<>(PLANT_EVENTS, site, JSON.writeValueAsString(event))).get();
            System.out.printf("sent material_received %s for %s: %s %s of %s%n", eventId, site,
                    event.get("quantity").asText(), event.get("unit").asText(), event.get("material_category").asText());

            ObjectNode answer = awaitAnswer(answers, eventId, timeout);
            if (answer == null) {
                System.out.printf("no answer for %s within %d s%n", eventId, timeout.toSeconds());
                System.exit(2);
            }
            if ("accepted".equals(answer.get("outcome").asText())) {
                JsonNode m = answer.get("movement");
                System.out.printf("accepted: movement %s, %s kg, classified %s%n", m.get("type").asText(),
                        m.get("quantity_kg").asText(), m.get("classification").asText());
            } else {
                System.out.println("rejected: " + answer.get("message").asText());
                for (JsonNode r : answer.get("reasons")) {
                    String field = r.hasNonNull("field") ? " (" + r.get("field").asText() + ")" : "";
                    System.out.printf("  %s%s: %s%n", r.get("code").asText(), field, r.get("message").asText());
                }
            }
            System.out.println("ANSWER " + JSON.writeValueAsString(answer));
        }
    }

    /**
     * The event, field by field as contracts/schemas/plant.events.v1.json describes a material_received.
     * Quantities are decimal strings (never JSON numbers); times are UTC with a zone.
     */
    static ObjectNode plantEvent(String organisation, String site, Map<String, String> args) {
        String supplier = args.getOrDefault("supplier", "org-unknown-trader");
        ObjectNode event = JSON.createObjectNode();
        event.put("type", "material_received");
        event.put("event_id", UUID.randomUUID().toString()); // the idempotency key: a resend counts once
        event.put("schema_version", 1);
        event.put("occurred_at", Instant.now().truncatedTo(ChronoUnit.MILLIS).toString());
        event.put("correlation_id", UUID.randomUUID().toString());
        ObjectNode actor = event.putObject("actor");
        actor.put("organisation_id", organisation);
        actor.put("role", "producer");
        event.put("site_id", site);
        event.put("received_on", args.getOrDefault("received-on", LocalDate.now(ZoneOffset.UTC).toString()));
        event.put("supplier_organisation_id", supplier);
        event.put("material_category", args.getOrDefault("category", "aluminium"));
        event.put("product_form", args.getOrDefault("form", "ingot"));
        event.put("quantity", args.getOrDefault("quantity", "22.5")); // a string: exact decimals
        event.put("unit", args.getOrDefault("unit", "t"));
        // Bought without a CoC Document: intake records it as non-CoC material, after due diligence.
        event.put("due_diligence_status", "passed");
        event.put("due_diligence_reference", "dd-" + supplier);
        return event;
    }

    static Properties connection(String bootstrap) {
        Properties p = new Properties();
        p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        // The platform's embedded broker (tansu, `make run`) drops the connection when kafka-clients 4.4
        // puts the cluster id in its ApiVersions request; on a real Kafka cluster this check can stay on.
        p.put("metadata.cluster.check.enable", "false");
        return p;
    }

    /** Reads both answer topics from where they end now (before sending), without a consumer group. */
    static KafkaConsumer<String, String> answerReader(String bootstrap) {
        Properties p = connection(bootstrap);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p);
        List<TopicPartition> partitions = new ArrayList<>();
        for (String topic : List.of(MOVEMENTS, REJECTIONS)) {
            for (PartitionInfo info : consumer.partitionsFor(topic)) {
                partitions.add(new TopicPartition(topic, info.partition()));
            }
        }
        consumer.assign(partitions);
        consumer.seekToEnd(partitions);
        partitions.forEach(consumer::position); // resolve the end offsets now, not at the first poll
        return consumer;
    }

    static KafkaProducer<String, String> producer(String bootstrap) {
        Properties p = connection(bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        return new KafkaProducer<>(p);
    }

    /** The movement for this event id, or its rejection; a hold is reported and waited out. */
    static ObjectNode awaitAnswer(KafkaConsumer<String, String> consumer, String eventId, Duration timeout)
            throws Exception {
        Instant deadline = Instant.now().plus(timeout);
        while (Instant.now().isBefore(deadline)) {
            for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
                JsonNode message = JSON.readTree(record.value());
                String type = message.path("type").asText();
                ObjectNode answer = JSON.createObjectNode();
                answer.put("event_id", eventId);
                if (record.topic().equals(MOVEMENTS) && eventId.equals(message.path("movement_id").asText())) {
                    answer.put("outcome", "accepted");
                    answer.set("movement", message);
                    return answer;
                }
                if (type.equals("plant_event_rejected") && eventId.equals(message.path("rejected_event_id").asText())) {
                    answer.put("outcome", "rejected");
                    answer.set("reasons", message.get("reasons"));
                    answer.set("message", message.get("message"));
                    return answer;
                }
                if (type.equals("plant_event_held") && eventId.equals(message.path("held_event_id").asText())) {
                    System.out.println("held until " + message.path("retry_until").asText() + ", waiting for: "
                            + message.path("waiting_for"));
                }
            }
        }
        return null;
    }

    static Map<String, String> parse(String[] argv) {
        Map<String, String> args = new HashMap<>();
        for (int i = 0; i + 1 < argv.length; i += 2) {
            if (!argv[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --name value, got " + argv[i]);
            }
            args.put(argv[i].substring(2), argv[i + 1]);
        }
        return args;
    }
}
