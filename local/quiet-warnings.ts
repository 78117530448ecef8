/** Silences the AWS SDK's Node-version warning in this process (see quiet-warnings.mjs). */
import './quiet-warnings.mjs';
