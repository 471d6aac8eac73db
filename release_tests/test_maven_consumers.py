"""A user's own Maven projects, generated outside the repository, depend on the installed io.mxport:mxport (Java)
and io.mxport:mxport-scala_2.13 or _2.12 (Scala, the same source on either compiler) by their coordinates alone and
run a prediction with `mvn exec:java`. Their output bytes must equal Python's on the same pixels."""

import os
import textwrap

import pytest

from conftest import MODEL, SHAPE, VERSION, assert_same_output, run

POM = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example</groupId>
  <artifactId>uses-mxport</artifactId>
  <version>1</version>
  <properties>
    <maven.compiler.release>17</maven.compiler.release>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencies>
    <dependency>
      <groupId>io.mxport</groupId>
      <artifactId>{artifact}</artifactId>
      <version>{version}</version>
    </dependency>
  </dependencies>
  <build>
    {source_dir}
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-compiler-plugin</artifactId>
        <version>3.13.0</version>
      </plugin>
      {extra_plugin}
      <plugin>
        <groupId>org.codehaus.mojo</groupId>
        <artifactId>exec-maven-plugin</artifactId>
        <version>3.5.0</version>
        <configuration>
          <mainClass>Main</mainClass>
        </configuration>
      </plugin>
    </plugins>
  </build>
</project>
"""

SCALA_PLUGIN = """<plugin>
        <groupId>net.alchim31.maven</groupId>
        <artifactId>scala-maven-plugin</artifactId>
        <version>4.10.0</version>
        <configuration><scalaVersion>{scala_version}</scalaVersion></configuration>
        <executions><execution><goals><goal>compile</goal></goals></execution></executions>
      </plugin>"""

DIMS = ", ".join(map(str, SHAPE))

JAVA_MAIN = f"""
import io.mxport.NDArray;
import io.mxport.Predictor;
import io.mxport.Shape;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

public class Main {{
    public static void main(String[] args) throws Exception {{
        byte[] pixels = Files.readAllBytes(Path.of(args[1]));
        try (Predictor predictor = new Predictor(args[0])) {{
            NDArray prob = predictor.predictWithNDArray(List.of(NDArray.ofBytes(pixels, new Shape({DIMS})))).get(0);
            Files.write(Path.of(args[2]), prob.toRawBytes());
            System.out.println("predicted " + prob);
        }}
    }}
}}
"""

SCALA_MAIN = f"""
import io.mxport.scalaapi._
import java.nio.file.{{Files, Paths}}
import scala.util.Using

object Main {{
  def main(args: Array[String]): Unit = {{
    val pixels = Files.readAllBytes(Paths.get(args(1)))
    Using.resource(Predictor(args(0))) {{ predictor =>
      val prob = predictor.predictWithNDArray(IndexedSeq(NDArray(pixels, Shape({DIMS}))))(0)
      Files.write(Paths.get(args(2)), prob.toRawBytes)
      println(s"predicted $prob")
    }}
  }}
}}
"""


def consumer(root, artifact, source_dir, extra_plugin, path, main):
    (root / "pom.xml").write_text(
        POM.format(artifact=artifact, version=VERSION, source_dir=source_dir, extra_plugin=extra_plugin)
    )
    src = root / path
    src.parent.mkdir(parents=True)
    src.write_text(textwrap.dedent(main))
    return root


# the Scala lines' compilers: Spark 4's Scala 2.13 and Spark 3.5's 2.12 (spark/pom.xml and its scala-2.12 profile)
SCALA_VERSIONS = {"2.13": "2.13.18", "2.12": "2.12.18"}


@pytest.mark.parametrize("language", ["java", "scala_2.13", "scala_2.12"])
def test_a_user_project_predicts_like_python(language, tmp_path, pixels, python_reference):
    if language == "java":
        project = consumer(tmp_path, "mxport", "", "", "src/main/java/Main.java", JAVA_MAIN)
    else:
        line = language.split("_")[1]
        project = consumer(
            tmp_path,
            f"mxport-scala_{line}",
            "<sourceDirectory>src/main/scala</sourceDirectory>",
            SCALA_PLUGIN.format(scala_version=SCALA_VERSIONS[line]),
            "src/main/scala/Main.scala",
            SCALA_MAIN,
        )
    out = run(
        [
            "mvn",
            "-B",
            "-q",
            "-Dstyle.color=never",
            "compile",
            "exec:java",
            f"-Dexec.args={MODEL} {pixels} {project / 'prob.f32'}",
        ],
        cwd=project,
    )
    assert "predicted NDArray" in out, out
    assert_same_output(project / "prob.f32", python_reference, f"the {language} consumer")


def test_every_jar_in_dist_carries_the_licence_and_the_notice():
    import glob
    import zipfile
    from conftest import DIST

    jars = [j for j in glob.glob(os.path.join(DIST, f"*-{VERSION}*.jar")) if not j.endswith(("-javadoc.jar",))]
    assert len(jars) >= 6, jars  # mxport, -scala, -spark, their sources, the shaded jar
    for jar in jars:
        names = set(zipfile.ZipFile(jar).namelist())
        assert {"META-INF/LICENSE", "META-INF/NOTICE"} <= names or jar.endswith("-all.jar"), jar


# what each line's published poms must name: its Scala, and for the Spark module its Spark (the -P scala-2.12 build
# for Spark 3.5, the default one for Spark 4)
LINES = {"2.13": ("2.13.18", "4.2.0"), "2.12": ("2.12.18", "3.5.9")}


@pytest.mark.parametrize("line", sorted(LINES))
def test_each_scala_line_s_published_poms_and_jars_are_that_line_s(line):
    import xml.etree.ElementTree as ET
    from conftest import DIST

    scala, spark = LINES[line]
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    for module in ("scala", "spark"):
        artifact = f"mxport-{module}_{line}"
        for suffix in (".jar", "-sources.jar", "-javadoc.jar") + (("-all.jar",) if module == "spark" else ()):
            assert os.path.isfile(os.path.join(DIST, f"{artifact}-{VERSION}{suffix}")), (artifact, suffix, "make dist")
        text = open(os.path.join(DIST, f"{artifact}-{VERSION}.pom")).read()
        assert "${" not in text, text  # a consumer's Maven resolves nothing of our build
        pom = ET.fromstring(text)
        assert pom.findtext("m:artifactId", namespaces=ns) == artifact
        deps = {
            d.findtext("m:artifactId", namespaces=ns): d.findtext("m:version", namespaces=ns)
            for d in pom.iterfind("m:dependencies/m:dependency", ns)
        }
        assert deps["scala-library"] == scala, deps
        if module == "spark":
            assert deps[f"spark-sql_{line}"] == spark and deps[f"spark-mllib_{line}"] == spark, deps
        if line == "2.12":  # scala.util.Using and scala.jdk.CollectionConverters on 2.12
            assert "scala-collection-compat_2.12" in deps, deps
        assert not [a for a in deps if a.endswith(f"_{'2.12' if line == '2.13' else '2.13'}")], deps
