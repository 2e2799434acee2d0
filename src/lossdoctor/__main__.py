from lossdoctor.cli import main

raise SystemExit(main())
